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

from collections.abc import Iterable
from sys import getrefcount
from typing import Any

from .optim._pytree import OWNED_SLOT

__all__ = ["DONATION_WORKS", "exclusive_arrays"]

# The references a state array has while ``exclusive_arrays`` looks at it when no
# one else holds it: its container, the tuple of leaves the last step left in
# OWNED_SLOT, the caller's list of leaves, the loop variable, getrefcount's argument.
_ARRAY_REFS = 5
# A container's: its parent, the loop variable, getrefcount's argument.
_CONTAINER_REFS = 3


def exclusive_arrays(root: Any, leaf_type: type) -> set[int]:
    """The ids of the ``leaf_type`` objects reachable from ``root`` only through it.

    The caller holds each leaf exactly twice: in the tuple of leaves kept by the
    last step and in one list of the current leaves. Containers other than dicts,
    lists, tuples and optimizers are not looked into (their arrays are kept).
    """
    found: set[int] = set()
    _walk(root.__dict__.values(), leaf_type, found)
    return found


def _walk(values: Iterable[Any], leaf_type: type, found: set[int]) -> None:
    for child in values:
        kind = type(child)
        if kind is leaf_type:
            if getrefcount(child) == _ARRAY_REFS:
                found.add(id(child))
        elif kind is dict:
            if getrefcount(child) == _CONTAINER_REFS:
                _walk(child.values(), leaf_type, found)
        elif kind is list or kind is tuple:
            if getrefcount(child) == _CONTAINER_REFS:
                _walk(child, leaf_type, found)
        elif hasattr(kind, OWNED_SLOT) and getrefcount(child) == _CONTAINER_REFS:
            attrs = child.__dict__  # a nested optimizer: its attributes too
            if getrefcount(attrs) == _CONTAINER_REFS:
                _walk(attrs.values(), leaf_type, found)


class _Leaf:
    __slots__ = ()


class _Node:
    __slots__ = ("__dict__", OWNED_SLOT)


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
    alone = exclusive_arrays(root, _Leaf) == set(map(id, leaves))
    held, shared = leaves[0], root.a["y"]
    none = exclusive_arrays(root, _Leaf) == {id(root.inner.z)}
    del held, shared
    nested = root.inner
    skipped = id(root.inner.z) not in exclusive_arrays(root, _Leaf)
    del nested, made
    return alone and none and skipped


DONATION_WORKS = _probe()
