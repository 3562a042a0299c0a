"""Checkpoints of sharded optimizers and models, through orbax.

Each process writes only its own shards (orbax and TensorStore), and a restore
reads into the shardings of ``like``: an ``opt.init(model)``-ed optimizer and a
model placed on the mesh at hand (or ``jax.ShapeDtypeStruct`` leaves with a
``sharding``). The mesh need not be the one the checkpoint was saved from.
Arrays are named by their paths in the trees (``"1/opt.m.hidden.w"``); the
structure, static attributes and non-array leaves come from ``like``.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.tree_util import keystr, tree_flatten_with_path, tree_unflatten

from .._core.init import cast_like

__all__ = ["restore", "save"]


def save(directory: str | os.PathLike[str], *trees: Any) -> None:
    """Save ``trees`` (optimizers, models) to the new ``directory``; every process calls it.

    Returns once the checkpoint is complete on disk, in every process.
    """
    import orbax.checkpoint as ocp

    items = {str(i): _arrays(tree, i) for i, tree in enumerate(trees)}
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(os.path.abspath(directory), items)
        checkpointer.wait_until_finished()


def restore(directory: str | os.PathLike[str], like: Any) -> Any:
    """Read what ``save(directory, *trees)`` wrote into copies of ``like``, with its shardings.

    ``like`` is the one saved tree's counterpart, or a tuple/list with one per
    saved tree. A missing or unexpected array, a shape, dtype, or a sharding that
    cannot be placed on this runtime's devices is a ``ValueError`` naming the
    array, raised before anything is read.
    """
    import orbax.checkpoint as ocp

    path = os.path.abspath(directory)
    with ocp.StandardCheckpointer() as checkpointer:
        saved = checkpointer.metadata(path).item_metadata.tree
        likes = [like] if len(saved) == 1 else like
        if len(saved) != 1 and (not isinstance(like, (tuple, list)) or len(like) != len(saved)):
            raise ValueError(
                f"{path!r} holds {len(saved)} trees; pass like=(...) with one tree for each"
            )
        target = {}
        for i, tree in enumerate(likes):
            stored = saved.get(str(i), {})
            wanted = _arrays(tree, i)
            _check_names(i, stored, wanted, _uninitialized(tree))
            target[str(i)] = {
                name: _target(f"{i}/{name}", stored[name], leaf) for name, leaf in wanted.items()
            }
        values = checkpointer.restore(path, target)
    out = [_fill(tree, i, values[str(i)]) for i, tree in enumerate(likes)]
    return out[0] if len(saved) == 1 else type(like)(out)


def _named(tree: Any, i: int) -> list[tuple[str, Any]]:
    return [(keystr(p, simple=True, separator="."), x) for p, x in tree_flatten_with_path(tree)[0]]


def _arrays(tree: Any, i: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, x in _named(tree, i):
        if isinstance(x, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)):
            if name in out:
                raise ValueError(f"two arrays of tree {i} share the name {name!r}")
            out[name] = x
    return out


def _check_names(
    i: int, stored: dict[str, Any], wanted: dict[str, Any], uninitialized: list[str]
) -> None:
    missing, extra = sorted(wanted.keys() - stored.keys()), sorted(stored.keys() - wanted.keys())
    if missing or extra:
        hint = []
        if extra and uninitialized:
            # The usual cause: state is built lazily, so a fresh optimizer has none yet.
            names = ", ".join(uninitialized)
            hint = [
                f"{names} in like has no state yet: call opt.init(model) on it (with the "
                "model the checkpoint was saved with) before restoring into it"
            ]
        raise ValueError(
            f"tree {i} of the checkpoint does not match like: "
            + "; ".join(
                ([f"like has arrays the checkpoint lacks: {missing[:8]}"] if missing else [])
                + ([f"the checkpoint has arrays like lacks: {extra[:8]}"] if extra else [])
                + hint
            )
        )


def _uninitialized(tree: Any) -> list[str]:
    """The optimizers in ``tree`` that never stepped nor were ``init``-ed, by type name."""
    from .._core.base import Optimizer

    found = jax.tree_util.tree_leaves(tree, is_leaf=lambda x: isinstance(x, Optimizer))
    return [
        type(x).__name__ for x in found if isinstance(x, Optimizer) and "_specs" not in x.__dict__
    ]


def _target(name: str, stored: Any, leaf: Any) -> jax.ShapeDtypeStruct:
    shape, dtype = tuple(leaf.shape), np.dtype(leaf.dtype)
    if tuple(stored.shape) != shape or np.dtype(stored.dtype) != dtype:
        raise ValueError(
            f"{name!r}: the checkpoint has shape {tuple(stored.shape)} and dtype "
            f"{np.dtype(stored.dtype)}, like has shape {shape} and dtype {dtype}"
        )
    sharding = getattr(leaf, "sharding", None)
    if sharding is None:  # NumPy leaves: whole on every device
        sharding = NamedSharding(Mesh(np.array(jax.devices()), ("all",)), PartitionSpec())
    _check_placeable(name, shape, sharding)
    return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)


def _check_placeable(name: str, shape: tuple[int, ...], sharding: Any) -> None:
    """Fail now, naming the array, if ``sharding`` cannot hold it (before orbax reads)."""
    try:
        sharding.shard_shape(shape)
    except Exception as e:
        raise ValueError(
            f"{name!r} of shape {shape} cannot be placed with {sharding}: {e}"
        ) from None


def _fill(tree: Any, i: int, values: dict[str, Any]) -> Any:
    with_path, treedef = tree_flatten_with_path(tree)
    leaves = []
    for (_, leaf), (name, _) in zip(with_path, _named(tree, i)):
        if name not in values:
            leaves.append(leaf)
        elif isinstance(leaf, (np.ndarray, np.generic)):
            leaves.append(np.asarray(values[name].addressable_data(0)))
        elif isinstance(leaf, jax.Array):
            leaves.append(cast_like(values[name], leaf))  # a hyperparameter's weak type
        else:
            leaves.append(values[name])
    return tree_unflatten(treedef, leaves)
