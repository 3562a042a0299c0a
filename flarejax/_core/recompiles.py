"""Warn when an optimizer's eager step keeps recompiling because a static value changes.

Python ints, bools, strings and callables stored on an optimizer are static: they
are part of the compiled step, so a new value compiles it again. A counter kept
as a Python int (``self.count += 1``, ``opt.t = 0`` as in torch) therefore
compiles every step, silently. After the second such recompile caused by one
attribute, a ``RecompileWarning`` names it, its old and new values and the fix.
"""

from __future__ import annotations

import warnings
from typing import Any

from jax.tree_util import PyTreeDef

from .pytree import CHILDREN_SLOT, HISTORY_SLOT

__all__ = ["RecompileWarning", "history_of", "note_recompile"]

_WARN_AFTER = 2  # recompiles caused by one attribute


class RecompileWarning(UserWarning):
    """An eager step compiled again because a static value of the optimizer changed."""


class History:
    """An optimizer's last step's treedef, and the recompiles blamed on each attribute.

    Not copied with the optimizer (a copy starts afresh) nor saved with it.
    """

    __slots__ = ("counts", "treedef")

    def __init__(self) -> None:
        self.treedef: PyTreeDef | None = None
        self.counts: dict[str, int] = {}

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return History, ()

    def __copy__(self) -> History:
        return History()

    def __deepcopy__(self, memo: dict[int, Any]) -> History:
        return History()


def history_of(opt: Any) -> History:
    """The optimizer's history, made on its first eager step."""
    history = getattr(opt, HISTORY_SLOT, None)
    if history is None:
        history = History()
        object.__setattr__(opt, HISTORY_SLOT, history)
    return history


def note_recompile(opt: Any, history: History, treedef: PyTreeDef) -> None:
    """The step with input ``treedef`` compiled: blame the static values that changed."""
    old = history.treedef
    if old is None:
        return
    for path, before, after in _changed_statics(old, treedef, type(opt).__name__):
        count = history.counts.get(path, 0) + 1
        history.counts[path] = count
        if count == _WARN_AFTER:
            warnings.warn(_message(path, before, after), RecompileWarning, stacklevel=4)


def _message(path: str, before: Any, after: Any) -> str:
    if callable(after) and not isinstance(after, type):
        fix = (
            "Assign the function once, or make the value it depends on an array "
            "attribute that the function reads, so that the step is reused."
        )
    else:
        fix = (
            "Store it as a JAX array instead (e.g. jnp.asarray(value), or "
            "jnp.zeros((), jnp.int32) for a counter), so that a new value reuses "
            "the compiled step."
        )
    return (
        f"{path} changed from {before!r} to {after!r}, and the eager step compiled "
        f"again ({_WARN_AFTER} recompiles so far because of {path}): Python ints, bools, "
        "strings and callables stored on an optimizer are static, part of the compiled "
        f"step. {fix}"
    )


_ARRAY = "<a JAX array>"


def _changed_statics(old: PyTreeDef, new: PyTreeDef, path: str) -> list[tuple[str, Any, Any]]:
    """(path, old value, new value) of each static attribute that differs, nested too."""
    old_data, new_data = old.node_data(), new.node_data()
    if old_data is None or new_data is None or old_data[0] is not new_data[0]:
        return []
    kind = old_data[0]
    old_children, new_children = old.children(), new.children()
    if not hasattr(kind, CHILDREN_SLOT):  # a container: look for optimizers inside
        names = [f"[{i}]" for i in range(len(old_children))]
        if old_data[1] != new_data[1] or len(old_children) != len(new_children):
            return []
    else:
        (old_names, old_static), (new_names, new_static) = old_data[1], new_data[1]
        found = _attribute_changes(path, old_names, dict(old_static), new_names, dict(new_static))
        if found or old_names != new_names:
            return found
        names = [f".{n}" for n in old_names]
    out = []
    for name, a, b in zip(names, old_children, new_children):
        out.extend(_changed_statics(a, b, path + name))
    return out


def _attribute_changes(
    path: str,
    old_names: tuple[str, ...],
    old_static: dict[str, Any],
    new_names: tuple[str, ...],
    new_static: dict[str, Any],
) -> list[tuple[str, Any, Any]]:
    found = []
    for name in sorted(set(old_static) | set(new_static)):
        if name.startswith("_"):  # bookkeeping (the parameters' specs), not the user's
            continue
        before = old_static.get(name, _ARRAY if name in old_names else None)
        after = new_static.get(name, _ARRAY if name in new_names else None)
        if not _same(before, after):
            found.append((f"{path}.{name}", _shown(before), _shown(after)))
    return found


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


class _Shown:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _shown(value: Any) -> Any:
    return _Shown(_ARRAY) if value is _ARRAY else value
