"""Scalars that every parameter's update uses, computed once per step.

A hook runs once per parameter, and the scalars it derives from the step
counter and the hyperparameters (a bias correction :math:`1 - \\beta^t`, a
learning-rate schedule at the step count, a hyperparameter cast to the
gradient's dtype) are the same for every parameter. Traced once per parameter,
each becomes as many operations in the compiled step, and tracing and
compiling them costs time in proportion to the number of parameters.
:func:`once_per_step` computes such a value once per step: inside a step
(:func:`step_scope`, entered by the default ``updates``), a call with the same
function and the same argument objects, in the same trace, returns the value
the first call computed. Arguments are compared by identity and held until the
step ends, so that an id is never reused meanwhile; JAX values are immutable,
so the same objects mean the same value.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .._jax import current_trace

__all__ = ["once_per_step", "step_scope"]

T = TypeVar("T")

_local = threading.local()


@contextlib.contextmanager
def step_scope() -> Iterator[None]:
    """Share :func:`once_per_step` values until the outermost scope ends."""
    if getattr(_local, "memo", None) is not None:
        yield  # a nested step (a member of a Chain): the outer one's values
        return
    _local.memo = {}
    try:
        yield
    finally:
        _local.memo = None  # releases the traced values with the step


def once_per_step(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, computed once per step for the same ``fn`` and argument objects.

    Outside a step scope, or where the current trace cannot be read, it is
    simply ``fn(*args)``. ``fn`` must be a pure function of its arguments.
    """
    memo: dict[Any, Any] | None = getattr(_local, "memo", None)
    trace = current_trace()
    if memo is None or trace is None:
        return fn(*args)
    key = (fn, id(trace), *map(id, args))
    hit = memo.get(key)
    if hit is not None and hit[0] is trace and all(map(_same, hit[1], args)):
        return hit[2]  # type: ignore[no-any-return]
    value = fn(*args)
    memo[key] = (trace, args, value)
    return value


def _same(a: Any, b: Any) -> bool:
    return a is b
