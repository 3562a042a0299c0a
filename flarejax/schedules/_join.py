"""Running schedules one after another."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_steps
from ._base import BoundSchedule, Schedule

__all__ = ["join", "join_schedules"]


def join(
    schedules: Sequence[Callable[[ArrayLike], ArrayLike]], boundaries: Sequence[int]
) -> Schedule:
    """:func:`join_schedules` without the argument checks (equal boundaries allowed)."""
    return BoundSchedule(
        "join_schedules", _join, schedules=tuple(schedules), boundaries=tuple(boundaries)
    )


def _join(
    count: ArrayLike,
    *,
    schedules: tuple[Callable[[ArrayLike], ArrayLike], ...],
    boundaries: tuple[int, ...],
) -> jax.Array:
    count = jnp.asarray(count)
    value = jnp.asarray(schedules[0](count))
    for boundary, following in zip(boundaries, schedules[1:], strict=True):
        value = jnp.where(count < boundary, value, following(count - boundary))
    return value


def join_schedules(
    schedules: Sequence[Callable[[ArrayLike], ArrayLike]], boundaries: Sequence[int]
) -> Schedule:
    r"""Run ``schedules`` one after another, switching at ``boundaries``.

    With boundaries :math:`b_1 < \dots < b_{n-1}` (and :math:`b_0 = 0`), step
    :math:`t` with :math:`b_i \le t < b_{i+1}` gets

    .. math:: f(t) = f_i(t - b_i),

    i.e. every schedule counts steps from its own start.

    Parameters
    ----------
    schedules
        :math:`n \ge 1` schedules.
    boundaries
        :math:`n - 1` strictly increasing, non-negative step counts.

    Returns
    -------
    Schedule

    References
    ----------
    :func:`optax.join_schedules`.
    """
    schedules = list(schedules)
    boundaries = [check_steps("boundaries", b) for b in boundaries]
    if not schedules:
        raise ValueError("schedules must hold at least 1 schedule, got 0")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must hold len(schedules) - 1 = {len(schedules) - 1} "
            f"step counts, got {len(boundaries)}"
        )
    if any(a >= b for a, b in itertools.pairwise(boundaries)):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
    return join(schedules, boundaries)
