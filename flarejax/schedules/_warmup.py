"""A linear warm-up followed by a constant, cosine or exponential phase."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_steps
from ._base import BoundSchedule, Schedule
from ._basic import constant, exponential_decay, linear
from ._cosine import half_cosine
from ._join import join

__all__ = ["warmup_constant", "warmup_cosine_decay", "warmup_exponential_decay"]


def warmup_constant(init_value: ArrayLike, peak_value: ArrayLike, warmup_steps: int) -> Schedule:
    r"""Linear warm-up from ``init_value`` to ``peak_value``, then constant.

    .. math:: f(t) = I + (P - I) \frac{\min(t, W)}{W}

    Parameters
    ----------
    init_value
        :math:`I`, the value at step 0.
    peak_value
        :math:`P`, the value from step :math:`W` on.
    warmup_steps
        :math:`W \ge 0`; ``0`` means no warm-up: the schedule is ``peak_value``.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.warmup_constant_schedule`, except that optax returns
    ``init_value`` forever when ``warmup_steps == 0``.
    """
    warmup_steps = check_steps("warmup_steps", warmup_steps)
    if warmup_steps == 0:
        return constant(peak_value)
    return linear(init_value, peak_value, warmup_steps)


def warmup_cosine_decay(
    init_value: ArrayLike,
    peak_value: ArrayLike,
    warmup_steps: int,
    decay_steps: int,
    end_value: ArrayLike = 0.0,
    exponent: ArrayLike = 1.0,
) -> Schedule:
    r"""Linear warm-up to ``peak_value``, then cosine decay to ``end_value``.

    .. math::
        f(t) = \begin{cases}
            I + (P - I)\, t / W & t < W \\
            E + (P - E)\, c(t - W)^{p} & t \ge W
        \end{cases}, \qquad
        c(s) = \tfrac12 \left(1 + \cos\frac{\pi \min(s, D - W)}{D - W}\right)

    Parameters
    ----------
    init_value, peak_value, end_value
        :math:`I`, :math:`P` and :math:`E`.
    warmup_steps
        :math:`W \ge 0`, the length of the warm-up.
    decay_steps
        :math:`D > W`, the total length of the schedule *including* the warm-up.
    exponent
        :math:`p`, applied to the cosine factor.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.warmup_cosine_decay_schedule` (which, for
    ``peak_value == 0``, decays to 0 instead of ``end_value``).
    """
    warmup_steps = check_steps("warmup_steps", warmup_steps)
    decay_steps = check_steps(
        "decay_steps", decay_steps, minimum=warmup_steps + 1, note="(warmup_steps + 1)"
    )
    decay = BoundSchedule(
        "cosine_cooldown",
        _cosine_cooldown,
        peak_value=peak_value,
        end_value=end_value,
        steps=decay_steps - warmup_steps,
        exponent=exponent,
    )
    warmup = linear(init_value, peak_value, warmup_steps)
    return join([warmup, decay], [warmup_steps])


def _cosine_cooldown(
    count: ArrayLike,
    *,
    peak_value: ArrayLike,
    end_value: ArrayLike,
    steps: int,
    exponent: ArrayLike,
) -> jax.Array:
    peak, end = jnp.asarray(peak_value), jnp.asarray(end_value)
    return end + (peak - end) * half_cosine(count, steps) ** exponent


def warmup_exponential_decay(
    init_value: ArrayLike,
    peak_value: ArrayLike,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: ArrayLike | None = None,
) -> Schedule:
    r"""Linear warm-up to ``peak_value``, then :func:`exponential_decay`.

    .. math::
        f(t) = \begin{cases}
            I + (P - I)\, t / W & t < W \\
            g(t - W) & t \ge W
        \end{cases}

    where :math:`g` is ``exponential_decay(peak_value, transition_steps,
    decay_rate, transition_begin, staircase, end_value)``; ``transition_begin``
    counts from the end of the warm-up.

    Parameters
    ----------
    init_value, peak_value
        :math:`I` and :math:`P`.
    warmup_steps
        :math:`W \ge 0`, the length of the warm-up.
    transition_steps, decay_rate, transition_begin, staircase, end_value
        As in :func:`exponential_decay`.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.warmup_exponential_decay_schedule`.
    """
    warmup_steps = check_steps("warmup_steps", warmup_steps)
    warmup = linear(init_value, peak_value, warmup_steps)
    decay = exponential_decay(
        peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
    )
    return join([warmup, decay], [warmup_steps])
