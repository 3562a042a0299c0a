"""Flattening models into dotted keys, and telling parameters from the rest."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import KeyPath, keystr, tree_flatten_with_path

__all__ = ["ARRAY_TYPES", "flat_keys", "is_array", "is_param", "key_of"]

ARRAY_TYPES = (jax.Array, np.ndarray, np.generic)


def is_array(x: Any) -> bool:
    return isinstance(x, ARRAY_TYPES)


def is_param(x: Any) -> bool:
    """A parameter is a leaf that is an inexact (floating or complex) array."""
    return isinstance(x, ARRAY_TYPES) and jnp.issubdtype(x.dtype, jnp.inexact)


def is_no_grad(g: Any) -> bool:
    """``None`` and float0 gradients (``jax.grad(..., allow_int=True)``) mean "no update"."""
    return g is None or (isinstance(g, ARRAY_TYPES) and g.dtype == jax.dtypes.float0)


def key_of(path: KeyPath) -> str:
    """The dotted key of a leaf, e.g. ``"encoder.layers.0.kernel"``."""
    return keystr(path, simple=True, separator=".")


def flat_keys(tree: Any) -> tuple[list[str], list[Any], jax.tree_util.PyTreeDef]:
    """Keys, leaves and treedef of ``tree``; raises if two leaves share a key."""
    with_path, treedef = tree_flatten_with_path(tree)
    keys = [key_of(p) for p, _ in with_path]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        for k in keys:
            if k in seen:
                raise ValueError(
                    f"two leaves of the model share the key {k!r}; keys are the "
                    "dot-joined paths of the leaves and must be unique"
                )
            seen.add(k)
    return keys, [x for _, x in with_path], treedef
