"""The schedule type, and the helpers and argument checks all schedules share."""

from __future__ import annotations

import operator
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = ["Schedule", "as_float", "broadcast_to_count", "check_real", "check_steps"]

Schedule = Callable[[ArrayLike], jax.Array]
"""A hyperparameter as a function of the step count: ``value = schedule(count)``."""


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


def check_steps(name: str, value: object, *, minimum: int = 0, note: str = "") -> int:
    """``value`` as a Python int, raising unless it is an integer ``>= minimum``.

    ``note`` explains a minimum that depends on another argument, e.g.
    ``"(warmup_steps + 1)"``.
    """
    if isinstance(value, bool):
        raise TypeError(f"`{name}` must be an integer step count, got {value!r}.")
    try:
        steps = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"`{name}` must be an integer step count, got {value!r}.") from None
    if steps < minimum:
        bound = f"{minimum} {note}".strip()
        raise ValueError(f"`{name}` must be an integer >= {bound}, got {steps}.")
    return steps


def check_real(
    name: str,
    value: object,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """``float(value)``, raising unless it satisfies the given bounds."""
    x = float(value)  # type: ignore[arg-type]
    lower_ok = (gt is None or x > gt) and (ge is None or x >= ge)
    upper_ok = le is None or x <= le
    if not (lower_ok and upper_ok):
        if le is not None and (gt is not None or ge is not None):
            left = f"({gt}" if gt is not None else f"[{ge}"
            allowed = f"in {left}, {le}]"
        elif le is not None:
            allowed = f"<= {le}"
        else:
            allowed = f"> {gt}" if gt is not None else f">= {ge}"
        raise ValueError(f"`{name}` must be {allowed}, got {value!r}.")
    return x
