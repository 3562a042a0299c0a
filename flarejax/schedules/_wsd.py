"""Warmup-stable-decay (WSD) and trapezoid schedules."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_steps
from ._base import BoundSchedule, Schedule, as_float

__all__ = ["trapezoid", "warmup_stable_decay"]


def _linear_left(done: jax.Array, total: int) -> jax.Array:
    return (total - done) / total


def _cosine_left(done: jax.Array, total: int) -> jax.Array:
    # cos^2(pi x / 2) == (1 + cos(pi x)) / 2, without the cancellation near x = 1.
    return jnp.cos(0.5 * jnp.pi * (done / total)) ** 2


def _sqrt_left(done: jax.Array, total: int) -> jax.Array:
    # 1 - sqrt(x) == (1 - x) / (1 + sqrt(x)), without the cancellation near x = 1.
    return (total - done) / total / (1 + jnp.sqrt(done / total))


_DECAYS: dict[str, Callable[[jax.Array, int], jax.Array]] = {
    "linear": _linear_left,
    "cosine": _cosine_left,
    "sqrt": _sqrt_left,
}


def warmup_stable_decay(
    peak_value: ArrayLike,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    init_value: ArrayLike = 0.0,
    end_value: ArrayLike = 0.0,
    decay_type: str = "linear",
) -> Schedule:
    r"""Warmup-stable-decay: linear warm-up, hold at the peak, then decay.

    With :math:`I` = ``init_value``, :math:`P` = ``peak_value``, :math:`E` =
    ``end_value`` and phase lengths :math:`W`, :math:`S`, :math:`D`:

    .. math::
        f(t) = \begin{cases}
            I + (P - I)\, t / W & 0 \le t < W \\
            P & W \le t < W + S \\
            E + (P - E)\, g\!\left(\min\!\left(\frac{t - W - S}{D}, 1\right)\right)
                & t \ge W + S
        \end{cases}

    with :math:`g(x) = 1 - x` (``"linear"``), :math:`\tfrac12 (1 + \cos \pi x)`
    (``"cosine"``) or :math:`1 - \sqrt{x}` (``"sqrt"``). The value is :math:`E`
    from step :math:`W + S + D` on.

    Parameters
    ----------
    peak_value
        :math:`P`, held during the stable phase.
    warmup_steps
        :math:`W \ge 0`.
    stable_steps
        :math:`S \ge 0`.
    decay_steps
        :math:`D > 0`.
    init_value
        :math:`I`, the value at step 0.
    end_value
        :math:`E`, the value at and after step :math:`W + S + D`.
    decay_type
        ``"linear"``, ``"cosine"`` or ``"sqrt"``.

    Returns
    -------
    Schedule

    References
    ----------
    Hu et al., "MiniCPM", 2024 (arXiv:2404.06395); the ``"sqrt"``
    cool-down is from Hägele et al., 2024 (arXiv:2405.18392).
    """
    warmup_steps = check_steps("warmup_steps", warmup_steps)
    stable_steps = check_steps("stable_steps", stable_steps)
    decay_steps = check_steps("decay_steps", decay_steps, minimum=1)
    if decay_type not in _DECAYS:
        raise ValueError(f"decay_type must be one of {list(_DECAYS)}, got {decay_type!r}")
    return BoundSchedule(
        "warmup_stable_decay",
        _warmup_stable_decay,
        init_value=init_value,
        peak_value=peak_value,
        end_value=end_value,
        warmup_steps=warmup_steps,
        decay_start=warmup_steps + stable_steps,
        decay_steps=decay_steps,
        left=_DECAYS[decay_type],
    )


def _warmup_stable_decay(
    count: ArrayLike,
    *,
    init_value: ArrayLike,
    peak_value: ArrayLike,
    end_value: ArrayLike,
    warmup_steps: int,
    decay_start: int,
    decay_steps: int,
    left: Callable[[jax.Array, int], jax.Array],
) -> jax.Array:
    init, peak, end = (jnp.asarray(v) for v in (init_value, peak_value, end_value))
    t = jnp.maximum(jnp.asarray(count), 0)
    warming = init + (peak - init) * (as_float(t) / max(warmup_steps, 1))
    done = as_float(jnp.clip(t - decay_start, 0, decay_steps))
    decaying = end + (peak - end) * left(done, decay_steps)
    value = jnp.where(t < decay_start + decay_steps, decaying, end)
    value = jnp.where(t < decay_start, peak, value)
    return jnp.where(t < warmup_steps, warming, value)


def trapezoid(
    peak_value: ArrayLike,
    warmup_steps: int,
    hold_steps: int,
    cooldown_steps: int,
    init_value: ArrayLike = 0.0,
    end_value: ArrayLike = 0.0,
) -> Schedule:
    r"""Trapezoid: linear warm-up, hold at the peak, linear cool-down.

    .. math::
        f(t) = \begin{cases}
            I + (P - I)\, t / W & 0 \le t < W \\
            P & W \le t < W + H \\
            P + (E - P) \min\!\left(\frac{t - W - H}{C}, 1\right) & t \ge W + H
        \end{cases}

    This is :func:`warmup_stable_decay` with ``decay_type="linear"``;
    ``warmup_steps`` :math:`W \ge 0`, ``hold_steps`` :math:`H \ge 0` and
    ``cooldown_steps`` :math:`C > 0`.

    Returns
    -------
    Schedule

    References
    ----------
    Hägele et al., "Scaling Laws and Compute-Optimal Training Beyond
    Fixed Training Durations", 2024 (arXiv:2405.18392).
    """
    hold_steps = check_steps("hold_steps", hold_steps)
    cooldown_steps = check_steps("cooldown_steps", cooldown_steps, minimum=1)
    return warmup_stable_decay(
        peak_value, warmup_steps, hold_steps, cooldown_steps, init_value, end_value
    )
