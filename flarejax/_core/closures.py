"""Closures and partials as PyTrees, so that an eager call with a new one compiles once.

``opt.minimize(lambda m: loss(m, batch), model)`` makes a new function every
step. Passed to ``jax.jit`` as a static value it would compile every step and
the compilation cache would keep each function, with its batch, alive. Here a
plain function is taken apart into its code (static: the same lambda is the same
code, step after step) and what it captures (closure cells, defaults): those
are PyTrees whose arrays become dynamic inputs of the compiled call, while
their other values (Python numbers, strings, objects) stay static, as a captured
value is under ``jax.jit``. ``functools.partial`` is taken apart likewise.
Inside the compiled call the function is rebuilt around the traced arrays.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from jax.tree_util import (
    register_pytree_node,
    tree_flatten,
    tree_leaves,
    tree_unflatten,
)

from .._tree import ARRAY_TYPES

__all__ = ["as_pytrees", "rebuild"]


class _Same:
    """A static value compared by identity (a module's globals: unhashable)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


class _Empty:
    """The content of a closure cell not yet assigned."""

    def __repr__(self) -> str:
        return "<empty cell>"


_EMPTY = _Empty()


class Captured:
    """A function or ``functools.partial`` taken apart: static ``how``, PyTree ``what``."""

    __slots__ = ("how", "what")

    def __init__(self, how: tuple[Any, ...], what: tuple[Any, ...]) -> None:
        self.how, self.what = how, what


register_pytree_node(
    Captured, lambda c: (c.what, c.how), lambda how, what: Captured(how, tuple(what))
)


def _is_plain_function(x: Any) -> bool:
    return type(x) is types.FunctionType and not x.__dict__


def _takes_apart(x: Any) -> bool:
    return _is_plain_function(x) or type(x) is functools.partial


def as_pytrees(
    tree: Any, box: Callable[[Any], Any], static: Callable[[Any], Any], depth: int = 0
) -> Any:
    """``tree`` with each plain function and partial replaced by a ``Captured``.

    ``box`` makes the non-array leaves of a captured value static; ``static``
    makes a captured value without arrays static as a whole. A function
    whose capture refers back to itself (at a depth past a few levels) is kept
    whole, as a static value.
    """
    leaves, treedef = tree_flatten(tree)
    if depth > 4 or not any(map(_takes_apart, leaves)):
        return tree
    return tree_unflatten(
        treedef, [_capture(x, box, static, depth) if _takes_apart(x) else x for x in leaves]
    )


def _capture(
    fn: Any, box: Callable[[Any], Any], static: Callable[[Any], Any], depth: int
) -> Captured:
    def part(value: Any) -> Any:
        leaves = tree_leaves(value)
        if not any(isinstance(x, ARRAY_TYPES) or _takes_apart(x) for x in leaves):
            return static(value)  # whole, the object itself (a list it appends to)
        return box(as_pytrees(value, box, static, depth + 1))

    def parts(values: Any) -> Any:  # each captured value on its own
        if values is None:
            return None
        if type(values) is dict:
            return {k: part(v) for k, v in values.items()}
        return tuple(part(v) for v in values)

    if type(fn) is functools.partial:
        return Captured(("partial",), (part(fn.func), parts(fn.args), parts(fn.keywords)))
    cells = tuple(_cell_value(c) for c in fn.__closure__ or ())
    how = ("function", fn.__code__, _Same(fn.__globals__), fn.__name__, fn.__qualname__)
    return Captured(how, (parts(fn.__defaults__), parts(fn.__kwdefaults__), parts(cells)))


def _rebuild_values(values: Any) -> Any:
    if values is None:
        return None
    if type(values) is dict:
        return {k: rebuild(v) for k, v in values.items()}
    return tuple(rebuild(v) for v in values)


def _keywords_of(values: Any) -> dict[str, Any]:
    return {k: rebuild(v) for k, v in values.items()}


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a name assigned later in the enclosing function
        return _EMPTY


def rebuild(tree: Any) -> Any:
    """Undo ``as_pytrees`` (after the static boxes were opened).

    Containers without a ``Captured`` inside are kept as they are, not copied: a
    list a closure appends to is the caller's own list.
    """
    leaves, treedef = tree_flatten(tree, is_leaf=lambda x: isinstance(x, Captured))
    if not any(isinstance(x, Captured) for x in leaves):
        return tree
    return tree_unflatten(treedef, [_rebuild(x) if isinstance(x, Captured) else x for x in leaves])


def _rebuild(c: Captured) -> Any:
    if c.how[0] == "partial":
        func, args, keywords = c.what
        return functools.partial(rebuild(func), *_rebuild_values(args), **_keywords_of(keywords))
    what = [_rebuild_values(w) for w in c.what]
    _, code, globals_, name, qualname = c.how
    defaults, kwdefaults, cells = what
    closure = tuple(types.CellType() if v is _EMPTY else types.CellType(v) for v in cells)
    fn = types.FunctionType(code, globals_.value, name, defaults, closure or None)
    fn.__kwdefaults__ = kwdefaults
    fn.__qualname__ = qualname
    return fn
