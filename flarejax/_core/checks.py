"""Argument validators of optimizers and schedules: one place, one message style.

Every message reads ``<name> must be <condition>, got <value>``: ``ValueError``
for a value out of range, ``TypeError`` for a value of the wrong kind.

Optimizers' hyperparameters (``check_range``, ``check_positive``,
``check_nonnegative``) raise at construction, naming the argument.

Every check is a no-op for ``None`` (an optional hyperparameter left out), for
callables (a schedule is only known step by step) and for traced arrays (an
optimizer rebuilt inside ``jax.jit``); concrete arrays are checked element-wise.
A value that is not a number (a string, say) is a ``TypeError`` naming the
argument; NaN is never in range, and infinity only where a bound is infinite and
closed (``check_positive`` and ``check_nonnegative`` require finite values).

While an optimizer's ``__init__`` runs, every check it makes is also recorded
for its class, under the argument's name, so that assigning that hyperparameter
later (``opt.learning_rate = -0.1``) is checked as the constructor checked it:
see :func:`constructing` and :func:`validate`.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import operator
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "RECORDED",
    "check_nonnegative",
    "check_positive",
    "check_range",
    "check_real",
    "check_steps",
    "constructing",
    "hyperparameter_names",
    "under_construction",
    "validate",
]

# A recorded check: the validator and its arguments after the name and the value.
_Check = tuple[Callable[..., None], tuple[Any, ...], tuple[tuple[str, Any], ...]]

# The objects whose __init__ is running, innermost last (one list per thread).
_local = threading.local()
# The checks each class's __init__ made, by argument name: the union over every
# construction, since a check may depend on the other arguments.
RECORDED: dict[type, dict[str, set[_Check]]] = {}
# Per class: the __init__ parameters, and those that accept None.
_signatures: dict[type, tuple[frozenset[str], frozenset[str]]] = {}


def _stack() -> list[Any]:
    stack: list[Any] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextlib.contextmanager
def constructing(obj: Any) -> Iterator[None]:
    """Record, for ``type(obj)``, the checks made while ``obj.__init__`` runs."""
    stack = _stack()
    stack.append(obj)
    try:
        yield
    finally:
        stack.pop()


def _signature(cls: type) -> tuple[frozenset[str], frozenset[str]]:
    found = _signatures.get(cls)
    if found is None:
        names, optional = set(), set()
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:  # type: ignore[misc]
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            names.add(p.name)
            note = p.annotation if isinstance(p.annotation, str) else repr(p.annotation)
            if p.default is None or "None" in note or "Optional" in note:
                optional.add(p.name)
        found = _signatures[cls] = (frozenset(names), frozenset(optional))
    return found


def under_construction(obj: Any) -> bool:
    """Whether ``obj.__init__`` is running (its checks ran, or run, there)."""
    return any(o is obj for o in _stack())


def hyperparameter_names(cls: type) -> frozenset[str]:
    """The names of ``cls.__init__``'s parameters: the hyperparameters (cached)."""
    return _signature(cls)[0]


def _record(check: Callable[..., None], name: str, value: Any, *args: Any, **kw: Any) -> None:
    """Note ``check`` for the class under construction; reject a ``None`` it cannot take."""
    stack = _stack()
    if not stack:
        return
    cls = type(stack[-1])
    names, optional = _signature(cls)
    if name not in names:
        return
    if value is None and name not in optional:
        raise TypeError(f"{name} must be a number, got None")
    RECORDED.setdefault(cls, {}).setdefault(name, set()).add((check, args, tuple(kw.items())))


def validate(obj: Any, name: str, value: Any, old: Any) -> None:
    """Check ``value`` for the hyperparameter ``name`` of ``obj`` as its ``__init__`` did.

    Raises what the constructor raises (``ValueError`` out of range,
    ``TypeError`` for a string), and ``TypeError`` for ``None`` where the
    constructor does not accept ``None`` for a number. A hyperparameter that
    holds a float and has no recorded check (a subclass's own) is still
    required to be a number.
    """
    cls = type(obj)
    checks = RECORDED.get(cls, {}).get(name, ())
    numeric = bool(checks) or _is_float_scalar(old)
    if value is None:
        if numeric and name not in _signature(cls)[1]:
            raise TypeError(f"{name} must be a number, got None")
        return
    if numeric:
        _concrete(name, value)  # a TypeError for a string or another non-number
    for check, args, kw in checks:
        check(name, value, *args, **dict(kw))


def _is_float_scalar(x: Any) -> bool:
    if isinstance(x, float):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and np.ndim(x) == 0 and jnp.issubdtype(dtype, jnp.floating)


def _concrete(name: str, value: Any) -> np.ndarray | None:
    """``value`` as a float array, or ``None`` when it cannot be checked now."""
    if value is None or callable(value) or isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    try:
        return np.asarray(value, dtype=np.float64)
    except jax.errors.ConcretizationTypeError:
        return None
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None


def _show(value: Any) -> str:
    arr = np.asarray(value)
    return repr(arr.item()) if arr.ndim == 0 else repr(arr.tolist())


def _bound(x: float) -> str:
    return ("-inf" if x < 0 else "inf") if math.isinf(x) else f"{x:g}"


def check_range(
    name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = True
) -> None:
    """Raise ``ValueError`` unless ``lo <= value < hi`` (bounds as the flags say).

    >>> check_range("b1", 1.5, 0, 1)
    Traceback (most recent call last):
    ...
    ValueError: b1 must be in [0, 1), got 1.5
    """
    _record(check_range, name, value, lo, hi, lo_open=lo_open, hi_open=hi_open)
    arr = _concrete(name, value)
    if arr is None:
        return
    above = arr > lo if lo_open else arr >= lo
    below = arr < hi if hi_open else arr <= hi
    if not np.all(above & below):
        interval = f"{'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {_show(value)}")


def check_positive(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value > 0`` (and finite)."""
    _record(check_positive, name, value)
    arr = _concrete(name, value)
    if arr is not None and not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {_show(value)}")
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")


def check_nonnegative(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value >= 0`` (and finite)."""
    _record(check_nonnegative, name, value)
    arr = _concrete(name, value)
    if arr is not None and not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0, got {_show(value)}")
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")


def check_steps(name: str, value: object, *, minimum: int = 0, note: str = "") -> int:
    """``value`` as a Python int, raising unless it is an integer ``>= minimum``.

    For schedules' step counts. ``note`` explains a minimum that depends on
    another argument, e.g. ``"(warmup_steps + 1)"``.

    >>> check_steps("decay_steps", 7, minimum=11, note="(warmup_steps + 1)")
    Traceback (most recent call last):
    ...
    ValueError: decay_steps must be an integer >= 11 (warmup_steps + 1), got 7
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer step count, got {value!r}")
    try:
        steps = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an integer step count, got {value!r}") from None
    if steps < minimum:
        bound = f"{minimum} {note}".strip()
        raise ValueError(f"{name} must be an integer >= {bound}, got {steps}")
    return steps


def check_real(
    name: str,
    value: object,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """``float(value)``, raising unless it satisfies the given bounds (schedules' numbers).

    >>> check_real("pct_start", 1.5, ge=0.0, le=1.0)
    Traceback (most recent call last):
    ...
    ValueError: pct_start must be in [0, 1], got 1.5
    """
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    lower_ok = (gt is None or x > gt) and (ge is None or x >= ge)
    upper_ok = le is None or x <= le
    if not (lower_ok and upper_ok):
        if le is not None and (gt is not None or ge is not None):
            left = f"({_bound(gt)}" if gt is not None else f"[{_bound(ge)}"  # type: ignore[arg-type]
            allowed = f"in {left}, {_bound(le)}]"
        elif le is not None:
            allowed = f"<= {_bound(le)}"
        else:
            allowed = f"> {_bound(gt)}" if gt is not None else f">= {_bound(ge)}"  # type: ignore[arg-type]
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return x
