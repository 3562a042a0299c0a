"""``summary(opt)``: an optimizer's hyperparameters and the memory its state takes.

An optimizer's *state* is every array it holds that is not a hyperparameter:
per-parameter entries of its state dicts (``m["dense.kernel"]``), counters
(``t``), and the same for nested optimizers. Hyperparameters are the arguments of
``__init__`` stored under their own name (``learning_rate``, ``betas``); they
are listed by value, not counted as state.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import jax
import numpy as np
from jax.tree_util import DictKey, GetAttrKey, SequenceKey, keystr, tree_flatten_with_path

from ..._core.base import Optimizer
from ..._core.select import default_flags
from ..._tree import ARRAY_TYPES, flat_model, is_param

# Arrays, and their abstract stand-ins: ``jax.eval_shape`` of a function that
# builds and inits an optimizer measures its state without allocating it.
_SHAPED = (*ARRAY_TYPES, jax.ShapeDtypeStruct)

__all__ = ["param_bytes", "state_bytes", "state_entries", "state_ratio", "summary"]


def state_entries(opt: Optimizer) -> list[dict[str, Any]]:
    """Every state array of ``opt``: ``parameter`` (key, or ``None``), ``entry``, ``shape``...

    Each item is a dict with ``parameter`` (the parameter key of a state-dict
    entry, ``None`` for state not kept per parameter), ``entry`` (the attribute
    path, e.g. ``"m"`` or ``"opts.1.v"``), ``shape``, ``dtype`` and ``bytes``.
    """
    if not isinstance(opt, Optimizer):
        raise TypeError(f"expected a flarejax Optimizer, got {type(opt).__name__}")
    out = []
    for path, leaf in tree_flatten_with_path(opt)[0]:
        if not isinstance(leaf, _SHAPED) or _is_hyperparameter(opt, path):
            continue
        split = next(
            (i for i, k in enumerate(path) if isinstance(k, DictKey) and isinstance(k.key, str)),
            None,
        )
        if split is None:
            parameter, entry = None, _dotted(path)
        else:
            parameter = path[split].key
            entry = _dotted(path[:split] + path[split + 1 :])
        out.append(
            {
                "parameter": parameter,
                "entry": entry,
                "shape": tuple(leaf.shape),
                "dtype": str(leaf.dtype),
                "bytes": math.prod(leaf.shape) * leaf.dtype.itemsize,
            }
        )
    return out


def state_bytes(opt: Optimizer) -> int:
    """The bytes of ``opt``'s state (hyperparameters aside), as built so far.

    State is built lazily: call it after ``opt.init(model)`` or a step. To
    measure without allocating, pass the result of ``jax.eval_shape`` of a
    function that builds the optimizer, inits it and returns it.
    """
    return sum(e["bytes"] for e in state_entries(opt))


def param_bytes(model: Any) -> int:
    """The bytes of ``model``'s parameters (its inexact array leaves; nnx: ``nnx.Param``)."""
    _, leaves, _, owners, _ = flat_model(model)
    inexact = [
        is_param(x)
        or (
            isinstance(x, jax.ShapeDtypeStruct) and jax.numpy.issubdtype(x.dtype, jax.numpy.inexact)
        )
        for x in leaves
    ]
    return sum(
        math.prod(x.shape) * x.dtype.itemsize
        for x, f in zip(leaves, default_flags(inexact, owners))
        if f
    )


def state_ratio(opt: Optimizer, model: Any) -> float:
    """``state_bytes(opt) / param_bytes(model)``: 2.0 for Adam with its state built.

    ``opt``'s state must be built for ``model`` (``opt.init(model)`` or a step).
    """
    total = param_bytes(model)
    if total == 0:
        raise ValueError("the model has no parameters (inexact array leaves)")
    return state_bytes(opt) / total


def summary(opt: Optimizer, model: Any = None) -> str:
    """A table of ``opt``'s hyperparameters and state, with totals.

    Hyperparameters come from ``opt.hyperparameters()`` (schedules evaluated at
    the next step). Each state array is listed with its parameter key, entry,
    shape, dtype and bytes; with ``model``, the total is also given as a multiple
    of the model's parameter bytes.

    >>> import jax.numpy as jnp
    >>> import flarejax as flr
    >>> model = {"w": jnp.zeros((256, 128)), "b": jnp.zeros(128)}
    >>> opt = flr.optim.Adam(1e-3)
    >>> opt.init(model)
    >>> print(summary(opt, model))
    Adam
    hyperparameters:
      learning_rate  0.001
      b1             0.9
      b2             0.999
      eps            1e-08
      eps_root       0
      mu_dtype       None
    state:
      parameter  entry  shape       dtype    bytes
      b          m      (128,)      float32  512
      b          v      (128,)      float32  512
      w          m      (256, 128)  float32  131072
      w          v      (256, 128)  float32  131072
      -          t      ()          uint32   4
    total: 5 arrays, 263,172 bytes; parameters 131,584 bytes; state/parameters 2.00
    """
    if not isinstance(opt, Optimizer):
        raise TypeError(f"expected a flarejax Optimizer, got {type(opt).__name__}")
    hps = opt.hyperparameters()
    lines = [type(opt).__name__, "hyperparameters:" if hps else "hyperparameters: none"]
    lines += _table([[name, _show(value)] for name, value in hps.items()], None)
    # Per-parameter entries grouped by parameter, then the rest (counters).
    entries = sorted(
        state_entries(opt), key=lambda e: (e["parameter"] is None, e["parameter"] or "")
    )
    rows = [
        [
            "-" if e["parameter"] is None else e["parameter"],
            e["entry"],
            str(e["shape"]),
            e["dtype"],
            str(e["bytes"]),
        ]
        for e in entries
    ]
    lines.append("state:" if rows else "state: none")
    if rows:
        lines += _table(rows, ["parameter", "entry", "shape", "dtype", "bytes"])
    if not any(e["parameter"] is not None for e in entries):
        lines.append("  no per-parameter state yet: opt.init(model) or a step builds it")
    total = sum(e["bytes"] for e in entries)
    tail = f"total: {len(entries)} arrays, {total:,} bytes"
    if model is not None:
        p = param_bytes(model)
        tail += f"; parameters {p:,} bytes"
        if p:
            tail += f"; state/parameters {total / p:.2f}"
    lines.append(tail)
    return "\n".join(lines)


def _table(rows: list[list[str]], header: list[str] | None) -> list[str]:
    if header is not None:
        rows = [header, *rows]
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _show(value: Any) -> str:
    if isinstance(value, ARRAY_TYPES) and np.ndim(value) == 0:
        try:
            return f"{np.asarray(value).item():.6g}"
        except (TypeError, ValueError):
            return repr(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)


def _dotted(path: tuple[Any, ...]) -> str:
    return keystr(path, simple=True, separator=".") if path else "-"


def _is_hyperparameter(opt: Optimizer, path: tuple[Any, ...]) -> bool:
    """An argument of its optimizer's ``__init__``, or an element of one (``betas[0]``)."""
    obj: Any = opt
    owner_attr: tuple[Any, str] | None = None
    for k in path:
        if isinstance(k, GetAttrKey) and isinstance(obj, Optimizer):
            owner_attr = (obj, k.name)
            obj = obj.__dict__[k.name]
            continue
        if isinstance(k, DictKey):
            return False  # a state dict's entry
        if isinstance(k, SequenceKey):
            obj = obj[k.idx]
            continue
        return False
    if owner_attr is None:
        return False
    owner, attr = owner_attr
    return attr in inspect.signature(type(owner).__init__).parameters and not np.shape(obj)
