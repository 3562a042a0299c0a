"""``state_dict`` / ``load_state_dict``: an optimizer as a flat dict of NumPy arrays, and back.

Names are the optimizer's attribute paths joined by ``/``: ``"learning_rate"``,
``"t"``, ``"m/encoder.layers.0.kernel"`` (a state dict's key is the parameter's
dotted key), ``"inner/m/..."`` for a nested optimizer. Weakly-typed scalars
(float hyperparameters) are Python numbers; every other array is a NumPy array of
its own dtype. Static ``bool``/``int``/``str`` attributes are stored and restored;
other static attributes (schedules and other callables, ``None``, tuples) are code
or configuration and come from the constructor. ``"_specs/<key>"`` records the
shape and dtype of every parameter the optimizer has seen (``"float32[4,2]"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten_with_path, tree_unflatten

from ..._core.base import Optimizer
from ..._core.init import cast_like
from ..._core.pytree import is_static
from ..._tree import ARRAY_TYPES

__all__ = ["FORMAT_VERSION", "load_state_dict", "state_dict"]

FORMAT_VERSION = 1
_PY_SCALARS = (bool, int, float, complex)
_SPEC = re.compile(r"^([A-Za-z0-9_]+)\[([0-9,]*)\]$")


def state_dict(opt: Optimizer) -> dict[str, Any]:
    """The optimizer's state as a flat dict of NumPy arrays and Python scalars.

    Hyperparameters, the step counter, every state-dict entry by parameter key,
    nested optimizers under their attribute's name, the class name
    (``"__class__"``) and the format version (``"__format__"``). It holds copies:
    later steps do not change it. Call it outside ``jax.jit``.
    """
    if not isinstance(opt, Optimizer):
        raise TypeError(f"state_dict expects a flarejax Optimizer, got {type(opt).__name__}")
    out: dict[str, Any] = {"__format__": FORMAT_VERSION}
    for prefix, o in _with_prefixes(opt):
        out[prefix + "__class__"] = type(o).__qualname__
        for name, value in _statics(o):
            out[prefix + name] = value
    for name, leaf in _named_leaves(opt):
        if name in out:
            raise ValueError(f"two entries of {type(opt).__name__}'s state share the name {name!r}")
        out[name] = _entry(name, leaf)
    return out


def load_state_dict(opt: Optimizer, d: dict[str, Any]) -> None:
    """Restore ``opt`` (fresh, or with its state built) from ``state_dict``'s output.

    A fresh optimizer's lazy state is first laid out from the parameter specs in
    ``d`` (as ``opt.init`` would), so the next step continues bit for bit and,
    under ``jax.jit``, reuses the compiled step. Raises ``ValueError`` naming the
    first difference (class, format, missing or unexpected keys, shapes, dtypes,
    types of static attributes) and leaves ``opt`` unchanged.
    """
    if not isinstance(opt, Optimizer):
        raise TypeError(f"load_state_dict expects a flarejax Optimizer, got {type(opt).__name__}")
    if not isinstance(d, dict):
        raise TypeError(f"load_state_dict expects a dict, got {type(d).__name__}")
    d = {k: _plain(v) for k, v in d.items()}
    cls = type(opt).__qualname__
    if d.get("__class__") != cls:
        raise ValueError(
            f"cannot load the state of {d.get('__class__', '<no __class__ entry>')} into {cls}"
        )
    if d.get("__format__") != FORMAT_VERSION:
        raise ValueError(
            f"unsupported state dict format {d.get('__format__')!r} "
            f"(this flarejax reads format {FORMAT_VERSION})"
        )
    template = _template(opt, d)
    expected = state_dict(template)
    for name, value in expected.items():
        if name.endswith("__class__") and d.get(name, value) != value:
            raise ValueError(f"{name!r}: cannot load the state of {d[name]} into {value}")
    missing = sorted(expected.keys() - d.keys())
    extra = sorted(d.keys() - expected.keys())
    if missing or extra:
        raise ValueError(
            f"the state dict does not match {cls}: "
            + "; ".join(
                ([f"missing keys {_few(missing)}"] if missing else [])
                + ([f"unexpected keys {_few(extra)}"] if extra else [])
            )
        )
    for name, value in expected.items():
        if (name.startswith("_specs/") or "/_specs/" in name) and d[name] != value:
            raise ValueError(
                f"{name!r}: the state dict was saved for a parameter {d[name]}, the "
                f"optimizer has it as {value}"
            )

    with_path, treedef = tree_flatten_with_path(template)
    leaves = [_restore(_name(path), d[_name(path)], leaf) for path, leaf in with_path]
    new = tree_unflatten(treedef, leaves)
    for prefix, o in _with_prefixes(new):
        for name, value in _statics(o):
            if name.startswith("_specs/"):
                continue  # checked equal above; the template's own
            stored = d[prefix + name]
            if type(stored) is not type(value):
                raise ValueError(
                    f"{prefix + name!r}: expected a {type(value).__name__}, the state dict "
                    f"has a {type(stored).__name__} ({stored!r})"
                )
            object.__setattr__(o, name, stored)
    opt.__dict__.clear()
    opt.__dict__.update(new.__dict__)


# -- naming ----------------------------------------------------------------------


def _seg(k: Any) -> str:
    for attr in ("name", "key", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _name(path: tuple[Any, ...]) -> str:
    return "/".join(_seg(k) for k in path)


def _is_opt(x: Any) -> bool:
    return isinstance(x, Optimizer)


def _with_prefixes(opt: Optimizer, prefix: str = "") -> Iterator[tuple[str, Optimizer]]:
    """``opt`` and every optimizer nested in it, with the prefix of its names."""
    yield prefix, opt
    found = tree_flatten_with_path(opt, is_leaf=lambda x: x is not opt and _is_opt(x))[0]
    for path, leaf in found:
        if _is_opt(leaf):
            yield from _with_prefixes(leaf, prefix + _name(path) + "/")


def _statics(o: Optimizer) -> Iterator[tuple[str, Any]]:
    for name in sorted(o.__dict__):
        value = o.__dict__[name]
        if name == "_specs":
            for key, (shape, dtype) in sorted(value.items.items()):
                yield f"_specs/{key}", f"{dtype}[{','.join(map(str, shape))}]"
        elif is_static(value) and type(value) in (bool, int, str):
            yield name, value


def _named_leaves(opt: Optimizer) -> Iterator[tuple[str, Any]]:
    for path, leaf in tree_flatten_with_path(opt)[0]:
        yield _name(path), leaf


def _few(names: list[str]) -> str:
    return str(names[:8])[:-1] + (f", ... ({len(names)} in all)]" if len(names) > 8 else "]")


# -- values ----------------------------------------------------------------------


def _entry(name: str, leaf: Any) -> Any:
    if isinstance(leaf, jax.core.Tracer):
        raise TypeError(
            f"state_dict needs concrete values ({name!r} is traced): call it outside jax.jit"
        )
    if isinstance(leaf, jax.Array) and _is_key(leaf):
        return np.array(jax.random.key_data(leaf))  # the raw bits; the kind comes from `like`
    if isinstance(leaf, jax.Array):
        if leaf.ndim == 0 and jax.typeof(leaf).weak_type:
            return leaf.item()
        return np.array(leaf)
    if isinstance(leaf, (np.ndarray, np.generic)):
        return np.array(leaf)
    if isinstance(leaf, (*_PY_SCALARS, str)):
        return leaf
    raise TypeError(f"{name!r} is a {type(leaf).__name__}, which a state dict cannot hold")


def _plain(v: Any) -> Any:
    """0-d string and Python-like scalars read back from a file, as Python values."""
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind == "U":
        return str(v.item())
    if isinstance(v, np.str_):
        return str(v)
    return v


def _describe(v: Any) -> str:
    if isinstance(v, (*_PY_SCALARS, str)):
        return f"a Python {type(v).__name__}"
    return f"shape {tuple(np.shape(v))} and dtype {np.asarray(v).dtype}"


def _restore(name: str, value: Any, like: Any) -> Any:
    if isinstance(like, (*_PY_SCALARS, str)):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if type(value) is not type(like):
            raise ValueError(
                f"{name!r}: expected a Python {type(like).__name__}, the state dict has "
                f"{_describe(value)}"
            )
        return value
    if isinstance(value, str) or not isinstance(value, (*ARRAY_TYPES, *_PY_SCALARS)):
        raise ValueError(
            f"{name!r}: expected an array, the state dict has a {type(value).__name__}"
        )
    if isinstance(like, jax.Array) and _is_key(like):
        data = jax.random.key_data(like)
        arr = np.asarray(value)
        if arr.shape != data.shape or arr.dtype != data.dtype:
            raise ValueError(
                f"{name!r}: the state dict has {_describe(value)}, the optimizer expects the "
                f"data of a PRNG key: shape {tuple(data.shape)} and dtype {data.dtype}"
            )
        return jax.random.wrap_key_data(
            jax.device_put(arr, data.sharding), impl=jax.random.key_impl(like)
        )
    arr = np.asarray(value)
    dtype = np.dtype(like.dtype)
    weak = isinstance(like, jax.Array) and jax.typeof(like).weak_type
    if weak and like.ndim == 0 and arr.ndim == 0 and _same_kind(arr.dtype, dtype):
        # A weakly-typed scalar (a hyperparameter) may come back as a Python
        # number or a float64 scalar from a file; its value is exact in dtype.
        arr = arr.astype(dtype)
    if arr.shape != tuple(like.shape) or arr.dtype != dtype:
        raise ValueError(
            f"{name!r}: the state dict has {_describe(value)}, the optimizer expects "
            f"shape {tuple(like.shape)} and dtype {dtype}"
        )
    if not isinstance(like, jax.Array):
        return np.array(arr)
    out = jax.device_put(arr, like.sharding) if like.committed else jax.device_put(arr)
    return cast_like(out, like) if weak else out


def _is_key(x: jax.Array) -> bool:
    return bool(jnp.issubdtype(x.dtype, jax.dtypes.prng_key))


def _same_kind(a: np.dtype, b: np.dtype) -> bool:
    if jnp.issubdtype(b, jnp.complexfloating):
        return a.kind in "biufc" or jnp.issubdtype(a, jnp.inexact)
    if jnp.issubdtype(b, jnp.floating):
        return a.kind in "biuf" or jnp.issubdtype(a, jnp.floating)
    if jnp.issubdtype(b, jnp.integer):
        return a.kind in "biu"
    return a == b


# -- the layout of a fresh optimizer --------------------------------------------


def _template(opt: Optimizer, d: dict[str, Any]) -> Optimizer:
    """A copy of ``opt`` whose lazy state has the layout that ``d`` was saved with."""
    leaves, treedef = jax.tree_util.tree_flatten(opt)

    def copy() -> Any:
        # Own buffers: an eager init donates the arrays of the optimizer it runs on.
        return tree_unflatten(treedef, [_own(x) for x in leaves])

    template = copy()
    if opt.__dict__.get("_specs") is not None and opt.__dict__["_specs"].items:
        return template  # already built: d must match it exactly
    specs = {}
    for name, spec in d.items():
        if not name.startswith("_specs/"):
            continue
        m = _SPEC.match(spec) if isinstance(spec, str) else None
        dtype = _param_dtype(m.group(1)) if m else None
        if m is None or dtype is None:
            raise ValueError(f"{name!r}: malformed parameter spec {spec!r}")
        shape = tuple(int(n) for n in m.group(2).split(",") if n)
        specs[name[len("_specs/") :]] = (shape, dtype)
    if not specs:
        return template
    if any(getattr(type(o), "_state_follows_model", False) for _, o in _with_prefixes(opt)):
        raise ValueError(
            f"the state of {type(opt).__name__} follows the model's structure, which a "
            "state dict does not record: call opt.init(model) before load_state_dict"
        )
    dummy = {key: jnp.zeros(shape, dtype) for key, (shape, dtype) in specs.items()}
    try:
        template.init(dummy)
    except Exception as e:
        # Optimizers that need the loss of each step get a stand-in: only the
        # layout of the state matters here, its values come from ``d``.
        try:
            template = copy()
            template.init(dummy, loss=jnp.zeros((), jnp.float32))
            return template
        except Exception:
            pass
        raise ValueError(
            f"could not lay out {type(opt).__name__}'s state from the state dict's "
            f"parameter specs ({type(e).__name__}: {e}); call opt.init(model, ...) "
            "before load_state_dict"
        ) from e
    return template


def _param_dtype(name: str) -> np.dtype | None:
    try:
        dtype = jnp.dtype(name)
    except TypeError:
        return None
    return dtype if jnp.issubdtype(dtype, jnp.inexact) else None


def _own(x: Any) -> Any:
    if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer) and x.ndim > 0:
        return jnp.array(x, copy=True)
    return x
