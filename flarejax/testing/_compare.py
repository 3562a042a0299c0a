"""Comparing models and optimizer states, with messages that name keys and numbers."""

from __future__ import annotations

import collections
from typing import Any

import jax
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path

from .._tree import ARRAY_TYPES, flat_keys, is_param

__all__ = ["ConformanceError", "describe_change", "first_difference", "reordered", "snapshot"]


class ConformanceError(AssertionError):
    """An optimizer failed a property of ``check_optimizer``.

    The message starts with the property's name in brackets (``[jit]``); the
    attributes ``property`` and ``key`` (the parameter or state entry concerned,
    or ``None``) say the same for programs.
    """

    def __init__(self, prop: str, message: str, key: str | None = None) -> None:
        super().__init__(f"[{prop}] {message}")
        self.property = prop
        self.key = key


def snapshot(tree: Any) -> list[tuple[str, Any]]:
    """``(path, value)`` for every leaf, arrays copied to NumPy (eager steps donate)."""
    out = []
    for path, leaf in tree_flatten_with_path(tree)[0]:
        if isinstance(leaf, ARRAY_TYPES):
            arr = np.array(_plain(leaf))
            weak = isinstance(leaf, jax.Array) and jax.typeof(leaf).weak_type
            out.append((keystr(path, simple=True, separator="."), (arr, weak)))
        else:
            out.append((keystr(path, simple=True, separator="."), leaf))
    return out


def _plain(x: Any) -> Any:
    """Typed PRNG keys as their raw ``uint32`` data, every other array as itself."""
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(x)
    return x


def _as_f64(x: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.complexfloating):
        return x.astype(np.complex128)
    return x.astype(np.float64)


def _numbers(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> str | None:
    """``None`` when close, else the worst element and the values there."""
    if a.shape != b.shape:
        return f"shapes {a.shape} and {b.shape}"
    if a.dtype != b.dtype:
        return f"dtypes {a.dtype} and {b.dtype}"
    if a.dtype.kind not in "fcV" and not np.issubdtype(a.dtype, np.inexact):
        if np.array_equal(a, b):
            return None
        i = np.unravel_index(int(np.argmax(a != b)), a.shape) if a.ndim else ()
        return f"values {a[i]!r} and {b[i]!r} at index {tuple(int(j) for j in i)}"
    fa, fb = _as_f64(a), _as_f64(b)
    same_nan = np.isnan(fa) & np.isnan(fb)
    err = np.where(same_nan, 0.0, np.abs(fa - fb))
    bad = ~(err <= atol + rtol * np.abs(fb))
    if not bad.any():
        return None
    i = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), a.shape) if a.ndim else ()
    idx = tuple(int(j) for j in i)
    at = f" at index {idx}" if a.ndim else ""
    return (
        f"values {fa[i].item()!r} and {fb[i].item()!r}{at} (|diff| {err[i].item():.3g}, "
        f"{int(bad.sum())} of {a.size} elements outside rtol={rtol:g}, atol={atol:g})"
    )


def first_difference(
    a: list[tuple[str, Any]], b: list[tuple[str, Any]], rtol: float = 0.0, atol: float = 0.0
) -> tuple[str, str] | None:
    """``(key, what differs)`` for the first leaf where two snapshots differ, else ``None``.

    ``rtol = atol = 0`` compares bit for bit (NaNs in the same places are equal).
    """
    ka, kb = [k for k, _ in a], [k for k, _ in b]
    if ka != kb:
        only_a = [k for k in ka if k not in set(kb)]
        only_b = [k for k in kb if k not in set(ka)]
        if only_a or only_b:
            return (
                "<structure>",
                f"leaves only in the first: {only_a[:5]}; only in the second: {only_b[:5]}",
            )
        return "<structure>", "the same leaves in a different order"
    for (key, x), (_, y) in zip(a, b):
        if isinstance(x, tuple) and isinstance(y, tuple):
            diff = _numbers(x[0], y[0], rtol, atol)
            if diff is None and x[1] != y[1]:
                diff = f"weak types {x[1]} and {y[1]}"
        elif isinstance(x, tuple) or isinstance(y, tuple):
            diff = f"{_kind(x)} and {_kind(y)}"
        else:
            diff = None if (type(x) is type(y) and x == y) else f"{x!r} and {y!r}"
        if diff is not None:
            return key, diff
    return None


def _kind(x: Any) -> str:
    if isinstance(x, tuple):
        return f"an array {x[0].dtype}{list(x[0].shape)}"
    return f"a Python {type(x).__name__} {x!r}"


def non_param_difference(before: Any, after: Any) -> tuple[str, str] | None:
    """The first non-parameter leaf of ``before`` that ``after`` changed."""
    kb, lb, db = flat_keys(before)
    _, la, da = flat_keys(after)
    if db != da:
        return "<structure>", f"the model's structure changed from {db} to {da}"
    for key, x, y in zip(kb, lb, la):
        if is_param(x):
            continue
        if isinstance(x, ARRAY_TYPES):
            if not isinstance(y, ARRAY_TYPES) or x.dtype != y.dtype or x.shape != y.shape:
                return key, f"{_describe(x)} became {_describe(y)}"
            if not np.array_equal(np.asarray(x), np.asarray(y)):
                return key, f"{np.asarray(x).tolist()} became {np.asarray(y).tolist()}"
        elif type(x) is not type(y) or x != y:
            return key, f"{_describe(x)} became {_describe(y)}"
    return None


def _describe(x: Any) -> str:
    if isinstance(x, ARRAY_TYPES):
        return f"an array {x.dtype}{list(x.shape)}"
    return f"a Python {type(x).__name__} {x!r}"


def describe_change(a: Any, b: Any) -> str:
    """What differs between the PyTree structures of ``a`` and ``b``, in words."""
    pa = [keystr(p, simple=True, separator=".") for p, _ in tree_flatten_with_path(a)[0]]
    pb = [keystr(p, simple=True, separator=".") for p, _ in tree_flatten_with_path(b)[0]]
    added = [k for k in pb if k not in set(pa)]
    removed = [k for k in pa if k not in set(pb)]
    if added or removed:
        return f"leaves added {added[:5]}, removed {removed[:5]}"
    sa, sb = _statics(a), _statics(b)
    changed = [
        f"{k}: {sa.get(k, '<absent>')!r} -> {sb.get(k, '<absent>')!r}"
        for k in sorted(sa.keys() | sb.keys())
        if sa.get(k, _MISSING) != sb.get(k, _MISSING)
    ]
    if changed:
        return "static (non-array) attributes changed: " + "; ".join(changed[:5])
    return f"{jax.tree_util.tree_structure(a)} became {jax.tree_util.tree_structure(b)}"


_MISSING = object()


def _statics(opt: Any, prefix: str = "") -> dict[str, Any]:
    from .._core.base import Optimizer
    from .._core.pytree import is_static

    out: dict[str, Any] = {}
    if not isinstance(opt, Optimizer):
        return out
    for name, value in opt.__dict__.items():
        if is_static(value):
            out[prefix + name] = value
    found = tree_flatten_with_path(opt, is_leaf=lambda x: x is not opt and isinstance(x, Optimizer))
    for path, leaf in found[0]:
        if isinstance(leaf, Optimizer):
            out.update(_statics(leaf, prefix + keystr(path, simple=True, separator=".") + "."))
    return out


def reordered(x: Any) -> Any:
    """A copy of ``x`` whose optimizers' attributes and mappings were inserted in reverse.

    Flattening it must give the leaves in the same order as ``x`` when the leaf
    order does not depend on insertion order (which, for containers filled by
    iterating a set, depends on ``PYTHONHASHSEED``).
    """
    from .._core.base import Optimizer

    if isinstance(x, Optimizer):
        new = object.__new__(type(x))
        new.__dict__.update(reversed([(k, reordered(v)) for k, v in x.__dict__.items()]))
        return new
    if isinstance(x, collections.defaultdict):
        return collections.defaultdict(
            x.default_factory, reversed([(k, reordered(v)) for k, v in x.items()])
        )
    if isinstance(x, dict):
        return type(x)(reversed([(k, reordered(v)) for k, v in x.items()]))
    if type(x) in (list, tuple):
        return type(x)(reordered(v) for v in x)
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return type(x)(*(reordered(v) for v in x))
    return x
