"""Constant, polynomial (linear) and exponential schedules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_real, check_steps
from ._base import BoundSchedule, Schedule, as_float, broadcast_to_count

__all__ = ["constant", "exponential_decay", "linear", "polynomial"]


def constant(value: ArrayLike) -> Schedule:
    """A schedule that always returns ``value``.

    .. math:: f(t) = v

    Parameters
    ----------
    value
        The value held at every step.

    Returns
    -------
    Schedule
        ``f(count)``, with the shape of ``count``.

    References
    ----------
    :func:`optax.constant_schedule`.
    """
    return BoundSchedule("constant", _constant, value=value)


def _constant(count: ArrayLike, *, value: ArrayLike) -> jax.Array:
    return broadcast_to_count(value, count)


def polynomial(
    init_value: ArrayLike,
    end_value: ArrayLike,
    power: ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    r"""Polynomial transition from ``init_value`` to ``end_value``.

    With :math:`I` = ``init_value``, :math:`E` = ``end_value``, :math:`p` = ``power``,
    :math:`B` = ``transition_begin`` and :math:`T` = ``transition_steps``:

    .. math::
        f(t) = (I - E) \left(1 - \frac{\operatorname{clip}(t - B, 0, T)}{T}\right)^p + E

    so :math:`f = I` until step :math:`B` and :math:`f = E` from step :math:`B + T`.

    Parameters
    ----------
    init_value, end_value
        The values before and after the transition.
    power
        The exponent :math:`p`; ``1`` is a linear ramp.
    transition_steps
        Length :math:`T \ge 0` of the transition. ``0`` gives the constant
        ``init_value`` (as in optax).
    transition_begin
        Step :math:`B \ge 0` at which the transition starts.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.polynomial_schedule`.
    """
    transition_steps = check_steps("transition_steps", transition_steps)
    transition_begin = check_steps("transition_begin", transition_begin)
    if transition_steps == 0:
        return constant(init_value)
    return BoundSchedule(
        "polynomial",
        _polynomial,
        init_value=init_value,
        end_value=end_value,
        power=power,
        transition_steps=transition_steps,
        transition_begin=transition_begin,
    )


def _polynomial(
    count: ArrayLike,
    *,
    init_value: ArrayLike,
    end_value: ArrayLike,
    power: ArrayLike,
    transition_steps: int,
    transition_begin: int,
) -> jax.Array:
    init, end = jnp.asarray(init_value), jnp.asarray(end_value)
    done = jnp.clip(jnp.asarray(count) - transition_begin, 0, transition_steps)
    # (T - t) / T rather than 1 - t / T: XLA may turn the division into a multiply by
    # 1 / T, and 1 - t * (1 / T) can come out as -1e-8 at t = T: NaN for power 0.5.
    remaining = as_float(transition_steps - done) / transition_steps
    return (init - end) * remaining**power + end


def linear(
    init_value: ArrayLike,
    end_value: ArrayLike,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    r"""Linear transition from ``init_value`` to ``end_value``.

    .. math::
        f(t) = I + (E - I) \frac{\operatorname{clip}(t - B, 0, T)}{T}

    This is :func:`polynomial` with ``power=1``; see there for the arguments.

    References
    ----------
    :func:`optax.linear_schedule`.
    """
    return polynomial(init_value, end_value, 1, transition_steps, transition_begin)


def exponential_decay(
    init_value: ArrayLike,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: ArrayLike | None = None,
) -> Schedule:
    r"""Exponential decay by ``decay_rate`` every ``transition_steps`` steps.

    .. math::
        f(t) = I \, r^{\,s(t)}, \qquad
        s(t) = \frac{\max(t - B, 0)}{T}
        \quad \left(\text{or } \left\lfloor \frac{\max(t - B, 0)}{T} \right\rfloor
        \text{ if staircase}\right)

    then, if ``end_value`` :math:`E` is given, :math:`\max(f, E)` for :math:`r < 1`
    (a floor) or :math:`\min(f, E)` for :math:`r \ge 1` (a ceiling).

    Parameters
    ----------
    init_value
        :math:`I`, the value up to step :math:`B`.
    transition_steps
        :math:`T > 0`, the steps over which the value is multiplied by :math:`r`.
    decay_rate
        :math:`r > 0`.
    transition_begin
        :math:`B \ge 0`, the step at which the decay starts.
    staircase
        Decay in discrete jumps every :math:`T` steps.
    end_value
        Optional bound :math:`E` on the decayed value.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.exponential_decay` (which, unlike this function,
    silently returns a constant for ``transition_steps <= 0`` or ``decay_rate == 0``).
    """
    transition_steps = check_steps("transition_steps", transition_steps, minimum=1)
    transition_begin = check_steps("transition_begin", transition_begin)
    rate = check_real("decay_rate", decay_rate, gt=0.0)
    return BoundSchedule(
        "exponential_decay",
        _exponential_decay,
        init_value=init_value,
        transition_steps=transition_steps,
        decay_rate=decay_rate,
        transition_begin=transition_begin,
        staircase=staircase,
        end_value=end_value,
        floor=rate < 1.0,
    )


def _exponential_decay(
    count: ArrayLike,
    *,
    init_value: ArrayLike,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int,
    staircase: bool,
    end_value: ArrayLike | None,
    floor: bool,
) -> jax.Array:
    steps = jnp.maximum(jnp.asarray(count) - transition_begin, 0)
    if staircase:
        # Integer division: under jit, XLA may compute t / T as t * (1 / T), which can
        # land just below an integer, and floor would then stay a step behind.
        exponent = as_float(steps // transition_steps)
    else:
        exponent = as_float(steps) / transition_steps
    value = jnp.asarray(init_value) * jnp.power(decay_rate, exponent)
    if end_value is not None:  # a floor for a decay, a ceiling for a growth
        value = (jnp.maximum if floor else jnp.minimum)(value, end_value)
    return value
