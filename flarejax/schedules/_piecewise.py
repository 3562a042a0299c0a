"""Piecewise schedules: scaled jumps, or interpolation between them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_real, check_steps
from ._base import BoundSchedule, Schedule, as_float, broadcast_to_count
from ._basic import constant
from ._join import join

__all__ = [
    "cosine_blend",
    "interpolate",
    "linear_blend",
    "piecewise_constant",
    "piecewise_interpolate",
]

Blend = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


def linear_blend(start: jax.Array, end: jax.Array, pct: jax.Array) -> jax.Array:
    return (end - start) * pct + start


def cosine_blend(start: jax.Array, end: jax.Array, pct: jax.Array) -> jax.Array:
    return (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1) + end


_BLENDS: dict[str, Blend] = {"linear": linear_blend, "cosine": cosine_blend}


def _sorted_knots(
    boundaries_and_scales: Mapping[int, float] | None,
) -> list[tuple[int, float]]:
    """The ``(boundary, scale)`` pairs in step order, checked."""
    knots = sorted((boundaries_and_scales or {}).items())
    for boundary, scale in knots:
        check_steps("boundaries_and_scales (boundary)", boundary)
        check_real("boundaries_and_scales (scale)", scale, ge=0.0)
    return knots


def interpolate(starts: Sequence[int], values: Sequence[ArrayLike], blend: Blend) -> Schedule:
    """Blend ``values[i]`` into ``values[i + 1]`` over ``[starts[i], starts[i + 1])``.

    ``starts[0]`` must be 0; ``values`` has one more entry than there are segments,
    the last one held after ``starts[-1]``. Empty segments are skipped.
    """
    pieces = [
        BoundSchedule(
            "segment",
            _segment,
            start=values[i],
            end=values[i + 1],
            length=max(starts[i + 1] - starts[i], 1),
            blend=blend,
        )
        for i in range(len(starts) - 1)
    ]
    return join([*pieces, constant(values[-1])], starts[1:])


def _segment(
    count: ArrayLike, *, start: ArrayLike, end: ArrayLike, length: int, blend: Blend
) -> jax.Array:
    pct = as_float(jnp.maximum(count, 0)) / length
    return blend(jnp.asarray(start), jnp.asarray(end), pct)


def piecewise_constant(
    init_value: ArrayLike, boundaries_and_scales: Mapping[int, float] | None = None
) -> Schedule:
    r"""``init_value``, multiplied by ``scale`` at each boundary step.

    .. math:: f(t) = I \prod_{i \,:\, b_i \le t} s_i

    Parameters
    ----------
    init_value
        :math:`I`, the value before the first boundary.
    boundaries_and_scales
        ``{b_i: s_i}``, non-negative integer steps and non-negative scales.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.piecewise_constant_schedule`.
    """
    knots = _sorted_knots(boundaries_and_scales)
    return BoundSchedule(
        "piecewise_constant", _piecewise_constant, init_value=init_value, knots=tuple(knots)
    )


def _piecewise_constant(
    count: ArrayLike, *, init_value: ArrayLike, knots: tuple[tuple[int, float], ...]
) -> jax.Array:
    value = broadcast_to_count(init_value, count)
    for boundary, scale in knots:
        value = jnp.where(jnp.asarray(count) < boundary, value, value * scale)
    return value


def piecewise_interpolate(
    interpolate_type: str,
    init_value: ArrayLike,
    boundaries_and_scales: Mapping[int, float] | None = None,
) -> Schedule:
    r"""Interpolate between the values that :func:`piecewise_constant` jumps to.

    With boundaries :math:`0 = b_0 < b_1 < \dots < b_n` and accumulated values
    :math:`v_i = I \prod_{j \le i} s_j` (:math:`v_0 = I`), for
    :math:`b_i \le t < b_{i+1}`

    .. math::
        f(t) = v_i + (v_{i+1} - v_i)\, g\!\left(\frac{t - b_i}{b_{i+1} - b_i}\right),
        \qquad g(x) = x \ \text{(linear)} \ \text{or} \ \tfrac12 (1 - \cos \pi x)
        \ \text{(cosine)},

    and :math:`f(t) = v_n` for :math:`t \ge b_n`.

    Parameters
    ----------
    interpolate_type
        ``"linear"`` or ``"cosine"``.
    init_value
        :math:`I`, the value at step 0.
    boundaries_and_scales
        ``{b_i: s_i}``, non-negative integer steps and non-negative scales.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.piecewise_interpolate_schedule`.
    """
    if interpolate_type not in _BLENDS:
        raise ValueError(
            f"interpolate_type must be one of {sorted(_BLENDS)}, got {interpolate_type!r}"
        )
    knots = _sorted_knots(boundaries_and_scales)
    values = [init_value]
    for _, scale in knots:
        values.append(values[-1] * scale)
    starts = [0] + [boundary for boundary, _ in knots]
    return interpolate(starts, values, _BLENDS[interpolate_type])
