"""The schedule type, and the helpers and argument checks all schedules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = [
    "BoundSchedule",
    "Schedule",
    "as_float",
    "broadcast_to_count",
]

Schedule = Callable[[ArrayLike], jax.Array]
"""A hyperparameter as a function of the step count: ``value = schedule(count)``."""


class BoundSchedule:
    """A schedule: a module-level function of the count, with its arguments bound.

    What every function of :mod:`flarejax.schedules` returns, instead of a local
    closure: it pickles (the function by reference, the arguments by value), so
    an optimizer holding it pickles too. Like a function, it is equal only to
    itself and hashed by identity: a static leaf of an optimizer's tree that
    ``jax.jit`` compares cheaply.
    """

    __slots__ = ("__weakref__", "fn", "kwargs", "name")

    def __init__(self, name: str, fn: Callable[..., jax.Array], **kwargs: Any) -> None:
        self.name = name
        self.fn = fn
        self.kwargs = kwargs

    def __call__(self, count: ArrayLike) -> jax.Array:
        return self.fn(count, **self.kwargs)

    @property
    def __name__(self) -> str:  # as a function's, for summaries and logs
        return self.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (_bind, (self.name, self.fn, self.kwargs))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}({args})"


def _bind(name: str, fn: Callable[..., jax.Array], kwargs: dict[str, Any]) -> BoundSchedule:
    return BoundSchedule(name, fn, **kwargs)


def as_float(x: ArrayLike) -> jax.Array:
    """``x`` (typically an integer step count) as a weakly-typed float array.

    Multiplying by a Python float turns an int32 count into a *weakly-typed* float32,
    so a schedule's value does not promote the bfloat16 arrays it later scales.
    """
    return jnp.asarray(x) * 1.0


def broadcast_to_count(value: ArrayLike, count: ArrayLike) -> jax.Array:
    """``value`` broadcast against the shape of ``count`` (weak typing is kept)."""
    value = jnp.asarray(value)
    return jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, jnp.shape(count)))
