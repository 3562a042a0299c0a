"""Which state arrays of an optimizer nothing outside it can reach: those may be donated.

An eager step donates the buffers of the optimizer's own state to the compiled
step, so that XLA updates them in place. That is safe only for an array that no
one else holds: not the user's log (``hist.append(opt.m["w"])``), not a copied
dict (``dict(opt.m)``), not a snapshot (``jax.tree.map(lambda x: x, opt)``,
``copy.copy(opt)``), not another optimizer sharing the dict (``b.m = a.m``), not
a held nested optimizer (``inner = ema.opt``). The rule is exact: an array is
donatable when its reference count is the one its known holders give it, and so
is the count of every container on its path from the optimizer (a shared dict
or nested optimizer is reachable from outside even when its arrays' counts are
unchanged).

The counts depend on how CPython counts references; they are checked once at
import on a probe laid out as an optimizer is, and donation is switched off
(never wrong, only slower) where they do not hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress
from sys import getrefcount
from typing import Any

from jax.tree_util import register_pytree_node, tree_leaves

from .pytree import OWNED_SLOT

__all__ = ["DONATION_WORKS", "Path", "container_paths", "unshared"]

# The references a state array has while ``unshared`` counts them, when no one
# else holds it: its container, the tuple of leaves the last step left in
# OWNED_SLOT, the caller's list of leaves, and the iteration.
_ARRAY_REFS = 4
# A container's while ``_held`` looks at it: its parent, the local variable and
# getrefcount's argument; an optimizer's attribute dict: the optimizer and the
# attribute lookup (getrefcount's argument).
_CONTAINER_REFS = 3
_ATTRS_REFS = 2

# A container's place below the optimizer: (True, name) for an optimizer's
# attribute, (False, key) for a dict's key or a list's or tuple's index.
Path = tuple[tuple[bool, Any], ...]


def container_paths(root: Any, leaf_type: type) -> tuple[Path, ...]:
    """The paths to the containers below ``root`` that hold ``leaf_type`` leaves.

    Parents come before their children. Containers are dicts, lists, tuples
    and nested optimizers; others are leaves here (their arrays are never donated).
    """
    out: list[Path] = []
    _collect(root, (), leaf_type, out)
    return tuple(out)


def _collect(node: Any, path: Path, leaf_type: type, out: list[Path]) -> bool:
    """Add the paths below ``node``; whether it holds a ``leaf_type`` leaf."""
    if type(node) is leaf_type:
        return True
    if hasattr(type(node), OWNED_SLOT):
        items: Any = ((True, k, v) for k, v in node.__dict__.items())
    elif type(node) is dict:
        items = ((False, k, v) for k, v in node.items())
    elif type(node) is list or type(node) is tuple:
        items = ((False, i, v) for i, v in enumerate(node))
    else:
        return False
    mark = len(out)
    if path:
        out.append(path)
    found = False
    for attr, key, value in items:
        found = _collect(value, (*path, (attr, key)), leaf_type, out) or found
    if not found:
        del out[mark:]
    return found


def unshared(
    root: Any, leaves: list[Any], mine: tuple[bool, ...], paths: tuple[Path, ...]
) -> tuple[bool, ...]:
    """Which of ``leaves`` (those ``mine`` marks) nothing outside ``root`` holds.

    ``leaves`` must be the caller's only list of the leaves of ``root``, the
    tuple of leaves kept by the last step their only other holder besides
    ``root``, and ``paths`` the ``container_paths`` of ``root``. Leaves under a
    container (a dict, list, tuple or nested optimizer) that something outside
    holds are held too.
    """
    if sum(map(getrefcount, compress(leaves, mine))) == _ARRAY_REFS * mine.count(True):
        mask = mine  # each has exactly its known holders (each has at least those)
    else:
        mask = tuple(d and c == _ARRAY_REFS for d, c in zip(mine, _counts(leaves)))
    held = _held(root, paths)
    if not held:
        return mask
    return tuple(d and id(x) not in held for x, d in zip(leaves, mask))


def _counts(leaves: list[Any]) -> Iterator[int]:
    return map(getrefcount, leaves)


def _held(root: Any, paths: tuple[Path, ...]) -> set[int]:
    """The ids of the leaves under a container that something outside holds."""
    held: set[int] = set()
    for path in paths:
        node = root
        for attr, key in path:
            node = node.__dict__[key] if attr else node[key]
        if getrefcount(node) != _CONTAINER_REFS or (
            hasattr(type(node), OWNED_SLOT) and getrefcount(node.__dict__) != _ATTRS_REFS
        ):
            held.update(map(id, tree_leaves(node)))
    return held


class _Leaf:
    __slots__ = ()


class _Node:
    __slots__ = ("__dict__", OWNED_SLOT)


register_pytree_node(
    _Node, lambda n: (list(n.__dict__.values()), tuple(n.__dict__)), lambda names, _: _Node()
)


def _probe() -> bool:
    """Whether the counts above hold on this interpreter, on an optimizer-like probe."""
    root: Any = _Node()
    inner: Any = _Node()
    inner.z = _Leaf()
    root.a = {"x": _Leaf(), "y": [_Leaf(), (_Leaf(),)]}
    root.inner = inner
    del inner
    leaves = [root.a["x"], root.a["y"][0], root.a["y"][1][0], root.inner.z]
    made = tuple(leaves)
    mine = (True,) * len(leaves)
    paths = container_paths(root, _Leaf)
    alone = unshared(root, leaves, mine, paths) == mine
    held, shared = leaves[0], root.a["y"]
    some = unshared(root, leaves, mine, paths) == (False, False, False, True)
    del held, shared
    nested = root.inner
    skipped = unshared(root, leaves, mine, paths) == (True, True, True, False)
    del nested, made
    return alone and some and skipped and len(paths) == 4


DONATION_WORKS = _probe()
