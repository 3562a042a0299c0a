"""Advancing an optimizer's state only where a traced condition holds.

``SkipNonFinite``, ``SkipLargeUpdates`` and ``MultiSteps`` run their inner
optimizer every step (inside ``jax.jit`` both branches must exist anyway) and
keep or discard its new state with ``lax.select``. A discarded first step must
still leave the lazily-built state in place, built as the step built it, or the
state would change structure between steps: the state dicts record the first
value written under each new key, as ``opt.init`` does, and that built value
is what a discarded step leaves behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import jax
from jax import lax
from jax.tree_util import tree_map, tree_structure

from .init import Recorder, cast_like, match_like, optimizers_in
from .pytree import is_optimizer, is_static

if TYPE_CHECKING:
    from .base import Optimizer

__all__ = ["run_if"]

T = TypeVar("T")


def run_if(keep: jax.Array, opt: Optimizer, fn: Callable[[], T]) -> T:
    """Run ``fn()``, which advances ``opt``; where ``keep`` is False, undo that.

    Every optimizer nested in ``opt`` ends with the state it had before the
    call, or, for state first built during the call, with the value the lazy
    build wrote. ``fn``'s result is returned unchanged (mask it yourself).
    """
    saved = []
    for o in optimizers_in(opt):
        before = dict(o.__dict__)
        old_items, recorders = {}, {}
        for name, value in before.items():
            if isinstance(value, dict) and _holds_state(value):
                old_items[name] = {k: tree_map(lambda x: x, v) for k, v in value.items()}
                recorders[name] = Recorder(value)
                object.__setattr__(o, name, recorders[name])
        saved.append((o, before, old_items, recorders))
    out = fn()
    for o, before, old_items, recorders in saved:
        for name, old in before.items():
            new = o.__dict__[name]
            if name in recorders and new is recorders[name]:
                _select_dict(keep, old, old_items[name], new)
                object.__setattr__(o, name, old)
            elif not _holds_state(old):
                continue
            elif tree_structure(new) != tree_structure(old):  # type: ignore[operator]
                raise ValueError(
                    f"{type(o).__name__}.{name} changed structure during a step; keep the "
                    "structure of attributes fixed after __init__ and build state lazily "
                    "in dicts keyed by the parameter's key"
                )
            else:
                object.__setattr__(o, name, tree_map(lambda n, p: _select(keep, n, p), new, old))
    return out


def _holds_state(value: Any) -> bool:
    leaves = jax.tree_util.tree_leaves(value, is_leaf=is_optimizer)
    return not is_static(value) and not any(is_optimizer(x) for x in leaves)


def _select_dict(keep: jax.Array, target: dict[Any, Any], old: dict[Any, Any], rec: Any) -> None:
    # ``target`` may itself record first writes (``opt.init`` of an enclosing
    # optimizer): write the built value first, so that is what it records.
    for key, new_value in dict(rec).items():
        if key in old:
            prev = old[key]
        elif key in rec.first:
            prev = match_like(rec.first[key], new_value)
            target[key] = prev
        else:
            target[key] = new_value
            continue
        target[key] = tree_map(lambda n, p: _select(keep, n, p), new_value, prev)


def _select(keep: jax.Array, new: Any, old: Any) -> Any:
    if new is old:
        return new
    return lax.select(keep, new, cast_like(old, new))
