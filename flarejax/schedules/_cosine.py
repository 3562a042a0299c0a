"""Cosine decay."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_steps
from ._base import BoundSchedule, Schedule, as_float

__all__ = ["cosine_decay", "half_cosine"]


def half_cosine(count: ArrayLike, steps: int) -> jax.Array:
    r""":math:`\tfrac12 \left(1 + \cos(\pi \min(t, T) / T)\right)`, from 1 down to 0."""
    done = as_float(jnp.clip(count, 0, steps))
    return 0.5 * (1 + jnp.cos(jnp.pi * done / steps))


def cosine_decay(
    init_value: ArrayLike,
    decay_steps: int,
    alpha: ArrayLike = 0.0,
    exponent: ArrayLike = 1.0,
) -> Schedule:
    r"""Cosine decay from ``init_value`` to ``alpha * init_value``.

    .. math::
        f(t) = I \left[(1 - \alpha)\, c(t)^{p} + \alpha\right], \qquad
        c(t) = \tfrac12 \left(1 + \cos\frac{\pi \min(t, T)}{T}\right)

    Parameters
    ----------
    init_value
        :math:`I`, the value at step 0.
    decay_steps
        :math:`T > 0`; the value is :math:`\alpha I` from step :math:`T` on.
    alpha
        :math:`\alpha`, the final value as a fraction of ``init_value``.
    exponent
        :math:`p`, sharpening (:math:`p > 1`) or flattening the cosine.

    Returns
    -------
    Schedule

    References
    ----------
    Loshchilov & Hutter, "SGDR", ICLR 2017 (arXiv:1608.03983);
    :func:`optax.cosine_decay_schedule`.
    """
    decay_steps = check_steps("decay_steps", decay_steps, minimum=1)
    return BoundSchedule(
        "cosine_decay",
        _cosine_decay,
        init_value=init_value,
        decay_steps=decay_steps,
        alpha=alpha,
        exponent=exponent,
    )


def _cosine_decay(
    count: ArrayLike,
    *,
    init_value: ArrayLike,
    decay_steps: int,
    alpha: ArrayLike,
    exponent: ArrayLike,
) -> jax.Array:
    shape = half_cosine(count, decay_steps) ** exponent
    floor = jnp.asarray(alpha)
    return jnp.asarray(init_value) * ((1 - floor) * shape + floor)
