"""``save`` / ``load``: optimizers and models together in one ``.npz`` file.

The file holds NumPy arrays only (never pickles): it is read with
``allow_pickle=False`` and nothing named in it is imported or run. An optimizer
is stored as its ``state_dict``; any other PyTree by the dotted keys of its leaves.
Loading needs ``like``, trees with the structure to fill (a fresh optimizer is
enough, except for ``from_optax`` optimizers, whose state follows the model:
``opt.init(model)`` them first); every key, shape and dtype is checked against it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import types
import zipfile
from typing import Any

import jax
import ml_dtypes  # a dependency of jax
import numpy as np
from jax.tree_util import keystr, tree_flatten_with_path, tree_unflatten

from ._core.base import Optimizer
from ._core.init import cast_like
from .optim._interop._state_dict import load_state_dict, state_dict

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 1
_MAGIC = "__flarejax_checkpoint__"
_COUNT = "__trees__"
_DTYPE = "__dtype__/"  # the dtype of an array stored as raw bytes (bfloat16, float8, int4...)
_PYTYPE = "__pytype__/"  # the Python type of a scalar leaf
_PY_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}
# Leaves that are code, not state: left out of the file and taken from ``like``.
_CODE = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
    jax.custom_jvp,
    jax.custom_vjp,
)


def save(path: str | os.PathLike[str], *trees: Any) -> None:
    """Save ``trees`` (optimizers, models, any PyTrees of arrays) to ``path``, atomically.

    The file is written next to ``path`` under a temporary name, flushed to disk
    and renamed over ``path``: a crash leaves the old file or the new one, never
    half of one. Functions among the leaves (an activation in an Equinox module)
    are not saved; ``load`` takes them from ``like``.
    """
    entries: dict[str, np.ndarray] = {
        _MAGIC: np.asarray(FORMAT_VERSION),
        _COUNT: np.asarray(len(trees)),
    }
    for i, tree in enumerate(trees):
        for name, value in _flatten(i, tree).items():
            _encode(name, value, entries)
    _atomic_savez(os.fspath(path), entries)


def load(path: str | os.PathLike[str], *, like: Any) -> Any:
    """Load what ``save(path, *trees)`` wrote, into copies of the trees in ``like``.

    ``like`` is the one saved tree's counterpart, or a tuple/list with one per
    saved tree; the result has the same form. Optimizers in ``like`` are not
    modified: the result holds restored copies. Any difference between the file
    and ``like`` (a missing or unexpected key, a shape, a dtype, the optimizer's
    class) is a ``ValueError`` that names the key.
    """
    raw = _read(os.fspath(path))
    if _MAGIC not in raw:
        raise ValueError(f"{os.fspath(path)!r} is not a flarejax checkpoint")
    version = int(raw.pop(_MAGIC))
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} has checkpoint format {version}; this flarejax reads "
            f"format {FORMAT_VERSION}"
        )
    count = int(raw.pop(_COUNT, -1))
    values = _decode(raw)
    if count == 1:
        likes = [like]
    elif isinstance(like, (tuple, list)) and len(like) == count:
        likes = list(like)
    else:
        raise ValueError(
            f"{os.fspath(path)!r} holds {count} trees; pass like=(...) with one tree for each"
        )
    used: set[str] = set()
    out = [_unflatten(i, tree, values, used) for i, tree in enumerate(likes)]
    extra = sorted(values.keys() - used)
    if extra:
        raise ValueError(
            f"the checkpoint has entries that like does not: {extra[:8]}"
            + (f" ... ({len(extra)} in all)" if len(extra) > 8 else "")
        )
    return out[0] if count == 1 else tuple(out)


# -- trees <-> named values --------------------------------------------------------


def _is_code(x: Any) -> bool:
    return isinstance(x, _CODE) or type(x).__name__ in ("PjitFunction", "JitWrapped")


def _leaves(i: int, tree: Any) -> list[tuple[str, Any]]:
    """``(name, leaf)`` for every leaf, optimizers kept whole; names are checked unique."""
    with_path = tree_flatten_with_path(tree, is_leaf=lambda x: isinstance(x, Optimizer))[0]
    out = []
    for path, leaf in with_path:
        key = keystr(path, simple=True, separator=".")
        if isinstance(leaf, Optimizer):
            out.append((f"{i}/{key}/" if key else f"{i}/", leaf))
        else:
            out.append((f"{i}/{key}", leaf))
    prefixes = [n for n, x in out if isinstance(x, Optimizer)]
    seen: set[str] = set()
    for n, x in out:
        if n in seen or (not isinstance(x, Optimizer) and any(n.startswith(p) for p in prefixes)):
            raise ValueError(f"two leaves of tree {i} would share the name {n!r} in a checkpoint")
        seen.add(n)
    return out


def _flatten(i: int, tree: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, leaf in _leaves(i, tree):
        if isinstance(leaf, Optimizer):
            out.update({name + k: v for k, v in state_dict(leaf).items()})
        elif isinstance(leaf, jax.core.Tracer):
            raise TypeError(f"cannot save {name!r}: it is traced; save outside jax.jit")
        elif isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
            out[name] = np.array(leaf)
        elif isinstance(leaf, (bool, int, float, complex, str)):
            out[name] = leaf
        elif not _is_code(leaf):
            what = f"tree {i}, a single leaf" if name == f"{i}/" else f"the leaf {name!r}"
            raise TypeError(
                f"cannot save {what} of type {type(leaf).__name__}: only arrays "
                "and Python scalars are saved. If it holds arrays, register its class as a "
                "PyTree (jax.tree_util.register_dataclass, equinox.Module, flax.struct)"
            )
    return out


def _unflatten(i: int, tree: Any, values: dict[str, Any], used: set[str]) -> Any:
    with_path, treedef = tree_flatten_with_path(tree, is_leaf=lambda x: isinstance(x, Optimizer))
    new = []
    for (name, leaf), _ in zip(_leaves(i, tree), with_path):
        if isinstance(leaf, Optimizer):
            sub = {k[len(name) :]: v for k, v in values.items() if k.startswith(name)}
            used.update(name + k for k in sub)
            leaves, opt_def = jax.tree_util.tree_flatten(leaf)
            opt = tree_unflatten(opt_def, leaves)
            try:
                load_state_dict(opt, sub)
            except ValueError as e:
                raise ValueError(f"optimizer {name!r} of the checkpoint: {e}") from None
            new.append(opt)
        elif _is_code(leaf):
            new.append(leaf)
        elif name not in values:
            raise ValueError(f"the checkpoint has no entry {name!r}, a leaf of like")
        else:
            used.add(name)
            new.append(_restore(name, values[name], leaf))
    return tree_unflatten(treedef, new)


def _restore(name: str, value: Any, like: Any) -> Any:
    if isinstance(like, (bool, int, float, complex, str)):
        if type(value) is not type(like):
            raise ValueError(
                f"{name!r}: like has a Python {type(like).__name__}, the checkpoint has "
                f"{_describe(value)}"
            )
        return value
    if not isinstance(like, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)):
        raise TypeError(
            f"cannot load into the leaf {name!r} of like, of type {type(like).__name__}: "
            "like's leaves must be arrays, jax.ShapeDtypeStruct or Python scalars"
        )
    shape, dtype = tuple(like.shape), np.dtype(like.dtype)
    if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype != dtype:
        raise ValueError(
            f"{name!r}: the checkpoint has {_describe(value)}, like has shape {shape} "
            f"and dtype {dtype}"
        )
    if isinstance(like, (np.ndarray, np.generic)):
        return value
    sharding = getattr(like, "sharding", None)
    out = jax.device_put(value, sharding)
    if isinstance(like, jax.Array):
        return cast_like(out, like)  # its weak type, if it has one
    return out


def _describe(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"shape {v.shape} and dtype {v.dtype}"
    return f"a Python {type(v).__name__}"


# -- the file ---------------------------------------------------------------------


def _encode(name: str, value: Any, entries: dict[str, np.ndarray]) -> None:
    if isinstance(value, (bool, int, float, complex, str)):
        entries[_PYTYPE + name] = np.asarray(type(value).__name__)
        entries[name] = np.asarray(value)
        return
    arr = np.asarray(value)
    if arr.dtype.kind == "V":  # an ml_dtypes type that NumPy's format cannot name
        entries[_DTYPE + name] = np.asarray(arr.dtype.name)
        arr = np.ascontiguousarray(arr).view(np.dtype(f"u{arr.dtype.itemsize}"))
    if arr.dtype.kind == "O":
        raise TypeError(f"cannot save {name!r}: object arrays are not saved")
    entries[name] = arr


def _decode(raw: dict[str, np.ndarray]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, arr in raw.items():
        if name.startswith((_DTYPE, _PYTYPE)):
            continue
        if _PYTYPE + name in raw:
            kind = str(raw[_PYTYPE + name])
            if kind not in _PY_TYPES or arr.ndim != 0:
                raise ValueError(f"{name!r}: malformed scalar entry in the checkpoint")
            values[name] = _PY_TYPES[kind](arr.item())
        elif _DTYPE + name in raw:
            dtype = _raw_dtype(name, str(raw[_DTYPE + name]), arr)
            values[name] = arr.view(dtype)
        else:
            values[name] = arr
    return values


def _raw_dtype(name: str, dtype_name: str, arr: np.ndarray) -> np.dtype:
    dtype = _EXTENSION_DTYPES.get(dtype_name)
    if dtype is None or dtype.itemsize != arr.dtype.itemsize:
        raise ValueError(f"{name!r}: unknown dtype {dtype_name!r} in the checkpoint")
    return dtype


# The dtypes NumPy's file format cannot name, by name: a fixed list, so that a
# name in the file only ever selects one of these.
_EXTENSION_DTYPES = {
    np.dtype(t).name: np.dtype(t)
    for t in (
        getattr(ml_dtypes, n, None)
        for n in (
            "bfloat16",
            "float8_e3m4",
            "float8_e4m3",
            "float8_e4m3b11fnuz",
            "float8_e4m3fn",
            "float8_e4m3fnuz",
            "float8_e5m2",
            "float8_e5m2fnuz",
            "float8_e8m0fnu",
            "float4_e2m1fn",
            "float6_e2m3fn",
            "float6_e3m2fn",
            "int2",
            "int4",
            "uint2",
            "uint4",
        )
    )
    if t is not None
}


def _read(path: str) -> dict[str, np.ndarray]:
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise _NotNpz
        with z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except _NotNpz:
        raise ValueError(f"{path!r} is not a flarejax checkpoint (not an .npz archive)") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise ValueError(
            f"cannot read the checkpoint {path!r}: the file is truncated or corrupted "
            f"({type(e).__name__}: {e})"
        ) from None


class _NotNpz(Exception):
    pass


def _atomic_savez(path: str, entries: dict[str, np.ndarray]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, allow_pickle=False, **entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    # The rename itself must reach the disk too.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
