"""Flattening models into dotted keys, and telling parameters from the rest.

flax is optional: ``flax.nnx`` is only looked at when it has been imported (a
model holding nnx ``Variable``\\ s cannot exist otherwise).
"""

from __future__ import annotations

import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import (
    DictKey,
    GetAttrKey,
    KeyPath,
    SequenceKey,
    keystr,
    tree_flatten,
    tree_flatten_with_path,
)

__all__ = [
    "ARRAY_TYPES",
    "flat_keys",
    "flat_model",
    "is_array",
    "is_nnx_variable",
    "is_param",
    "key_of",
    "nnx_module",
    "nnx_path",
    "variables_of",
]

ARRAY_TYPES = (jax.Array, np.ndarray, np.generic)


def is_array(x: Any) -> bool:
    return isinstance(x, ARRAY_TYPES)


def is_param(x: Any) -> bool:
    """A parameter is a leaf that is an inexact (floating or complex) array."""
    return isinstance(x, ARRAY_TYPES) and jnp.issubdtype(x.dtype, jnp.inexact)


def is_no_grad(g: Any) -> bool:
    """``None`` and float0 gradients (``jax.grad(..., allow_int=True)``) mean "no update"."""
    return g is None or (isinstance(g, ARRAY_TYPES) and g.dtype == jax.dtypes.float0)


def nnx_module() -> Any:
    """The ``flax.nnx`` module if it has been imported, else ``None`` (never imports it)."""
    return sys.modules.get("flax.nnx")


def is_nnx_variable(x: Any) -> bool:
    nnx = nnx_module()
    return nnx is not None and isinstance(x, nnx.Variable)


def key_of(path: KeyPath) -> str:
    """The dotted key of a leaf, e.g. ``"encoder.layers.0.kernel"``."""
    return keystr(path, simple=True, separator=".")


def nnx_path(path: KeyPath) -> tuple[Any, ...]:
    """A pytree key path as an nnx path (what nnx filters see): names and indices."""
    out: list[Any] = []
    for entry in path:
        if isinstance(entry, GetAttrKey):
            out.append(entry.name)
        elif isinstance(entry, DictKey):
            out.append(entry.key)
        elif isinstance(entry, SequenceKey):
            out.append(entry.idx)
        else:
            out.append(getattr(entry, "key", entry))
    return tuple(out)


def flat_model(
    tree: Any, is_leaf: Any = None
) -> tuple[list[str], list[Any], jax.tree_util.PyTreeDef, list[Any], list[KeyPath]]:
    """Keys, leaves, treedef, the nnx ``Variable`` holding each leaf (or ``None``), paths.

    The key of a leaf held by an nnx ``Variable`` is the ``Variable``'s own key:
    ``l1.kernel``, not ``l1.kernel.value`` (the attribute through which pytree
    flattening reaches the array), so that patterns select what the user wrote.
    The paths returned are those of the ``Variable``\\ s (of the leaves elsewhere).
    Raises if two leaves share a key.
    """
    with_path, treedef = tree_flatten_with_path(tree, is_leaf=is_leaf)
    owners: list[Any] = [None] * len(with_path)
    paths = [p for p, _ in with_path]
    if nnx_module() is not None:
        variables = _variables_by_path(tree, is_leaf)
        if variables:
            for i, path in enumerate(paths):
                # The leaf sits at <variable path> + ".value" (+ more, for a pytree value).
                for cut in range(len(path) - 1, -1, -1):
                    var = variables.get(path[:cut])
                    if var is not None and _is_value(path[cut]):
                        owners[i] = var
                        paths[i] = path[:cut] + path[cut + 1 :]
                        break
    keys = [key_of(p) for p in paths]
    _check_unique(keys)
    return keys, [x for _, x in with_path], treedef, owners, paths


def flat_keys(tree: Any) -> tuple[list[str], list[Any], jax.tree_util.PyTreeDef]:
    """Keys, leaves and treedef of ``tree``; raises if two leaves share a key."""
    keys, leaves, treedef, _, _ = flat_model(tree)
    return keys, leaves, treedef


def variables_of(tree: Any) -> list[Any]:
    """The nnx ``Variable``\\ s of ``tree`` in pytree order (a shared one repeats)."""
    if nnx_module() is None:
        return []
    return [x for x in tree_flatten(tree, is_leaf=is_nnx_variable)[0] if is_nnx_variable(x)]


def _variables_by_path(tree: Any, is_leaf: Any) -> dict[KeyPath, Any]:
    def stop(x: Any) -> bool:
        return is_nnx_variable(x) or (is_leaf is not None and bool(is_leaf(x)))

    found = tree_flatten_with_path(tree, is_leaf=stop)[0]
    return {path: x for path, x in found if is_nnx_variable(x)}


def _is_value(entry: Any) -> bool:
    return isinstance(entry, GetAttrKey) and entry.name == "value"


def _check_unique(keys: list[str]) -> None:
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        for k in keys:
            if k in seen:
                raise ValueError(
                    f"two leaves of the model share the key {k!r}; keys are the "
                    "dot-joined paths of the leaves and must be unique"
                )
            seen.add(k)
