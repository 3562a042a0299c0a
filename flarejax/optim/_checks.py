"""Hyperparameter validators: ``ValueError`` at construction, naming the argument.

Every check is a no-op for ``None`` (an optional hyperparameter left out), for
callables (a schedule is only known step by step) and for traced arrays (an
optimizer rebuilt inside ``jax.jit``); concrete arrays are checked element-wise.
A value that is not a number (a string, say) is a ``TypeError`` naming the
argument; NaN is never in range, and infinity only where a bound is infinite and
closed (``check_positive`` and ``check_nonnegative`` require finite values).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

__all__ = ["check_nonnegative", "check_positive", "check_range"]


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
    arr = _concrete(name, value)
    if arr is not None and not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {_show(value)}")
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")


def check_nonnegative(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value >= 0`` (and finite)."""
    arr = _concrete(name, value)
    if arr is not None and not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0, got {_show(value)}")
    if arr is not None and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(value)}")
