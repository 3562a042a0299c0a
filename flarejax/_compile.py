"""Running an optimizer method eagerly as one compiled call.

A method written in the mutable, PyTorch-like style (``self.m[key] = ...``) is made
functional here: the optimizer, its arguments and its result cross one ``jax.jit``
boundary, the method runs on the traced copy of the optimizer, and the copy's new
state is written back into the original object only once the call has succeeded.
Leaves that are not arrays (strings, Python numbers in a model, callables) cannot
cross a ``jax.jit`` boundary as arguments; they travel in the tree structure as
static boxes and are put back on the way out.
"""

from __future__ import annotations

import functools
import itertools
import operator
import threading
from collections.abc import Callable
from itertools import compress
from typing import Any, TypeVar

import jax
import numpy as np
from jax._src.array import ArrayImpl
from jax.experimental.shard_alike import shard_alike
from jax.tree_util import PyTreeDef, register_pytree_node_class, tree_flatten, tree_unflatten

from ._tree import ARRAY_TYPES
from .optim._pytree import CHILDREN_SLOT, OWNED_SLOT

__all__ = ["functional_method", "tracing"]

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()


def tracing() -> bool:
    """True while a flarejax method runs inside its own compiled call."""
    return getattr(_state, "depth", 0) > 0


@register_pytree_node_class
class _Static:
    """A non-array leaf carried in the treedef, so that ``jax.jit`` hashes it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def tree_flatten(self) -> tuple[tuple[()], Any]:
        return (), self.value

    @classmethod
    def tree_unflatten(cls, value: Any, _: Any) -> _Static:
        return cls(value)

    def __hash__(self) -> int:
        try:
            return hash((type(self.value), self.value))
        except TypeError:
            return id(self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Static) or type(self.value) is not type(other.value):
            return False
        if self.value is other.value:
            return True
        try:
            return bool(self.value == other.value)
        except Exception:
            return False


_NUMBERS = (int, float, complex)


def _box_leaves(tree: Any) -> Any:
    """Box every leaf that cannot be a ``jax.jit`` argument; numbers stay dynamic."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(
        treedef,
        [
            x
            if isinstance(x, ARRAY_TYPES) or (isinstance(x, _NUMBERS) and not isinstance(x, bool))
            else _Static(x)
            for x in leaves
        ],
    )


def _box_tree(tree: Any) -> Any:
    """Box every non-array leaf of a model: its Python numbers are not parameters."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(
        treedef, [x if isinstance(x, ARRAY_TYPES) else _Static(x) for x in leaves]
    )


def _unbox(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree, is_leaf=lambda x: isinstance(x, _Static))
    return tree_unflatten(treedef, [x.value if isinstance(x, _Static) else x for x in leaves])


def _box_output(tree: Any) -> tuple[Any, Any, _Static]:
    """Box the non-array leaves of the result; say whether there were any."""
    leaves, treedef = tree_flatten(tree)
    dynamic = [isinstance(x, (*ARRAY_TYPES, jax.core.Tracer)) for x in leaves]
    boxed = tree_unflatten(treedef, [x if d else _Static(x) for x, d in zip(leaves, dynamic)])
    return (*boxed, _Static(not all(dynamic)))


def _call(method: Callable[..., Any], self: Any, args: Any, kwargs: Any) -> Any:
    self, args, kwargs = _unbox((self, args, kwargs))
    before = tree_flatten(self)
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        out = method(self, *args, **kwargs)
    finally:
        _state.depth -= 1
    return _box_output((_keep_placement(before, self), out))


def _keep_placement(before: tuple[list[Any], PyTreeDef], self: Any) -> Any:
    """``self`` with each array sharded as the array it replaces (on several devices).

    XLA chooses the sharding of the results it is not told about: a state array
    that came back sharded otherwise than it went in would cost a second
    compilation on the next step, and its donated buffer could not be reused.
    Tied to the array it replaces, the state keeps the layout it was given (by
    ``init``, by its parameter, or by the user) step after step.
    """
    old, old_def = before
    if jax.device_count() == 1:
        return self
    new, new_def = tree_flatten(self)
    if new_def != old_def:  # state built in this step: placed by its inputs
        return self
    tied = [
        shard_alike(n, o)[0]
        if isinstance(n, jax.core.Tracer) and np.ndim(n) > 0 and np.shape(n) == np.shape(o)
        else n
        for n, o in zip(new, old)
    ]
    return tree_unflatten(new_def, tied)


@functools.partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=3)
def _run(
    method: Callable[..., Any],
    self_def: PyTreeDef,
    donated_mask: tuple[bool, ...],
    donated: list[Any],
    kept: list[Any],
    args: Any,
    kwargs: Any,
) -> Any:
    it_donated, it_kept = iter(donated), iter(kept)
    leaves = [next(it_donated) if d else next(it_kept) for d in donated_mask]
    return _call(method, tree_unflatten(self_def, leaves), args, kwargs)


# The class itself, not type(jnp.zeros(())): creating an array at import would start
# the backend, after which jax.distributed.initialize can no longer be called.
_ARRAY_IMPL = ArrayImpl
_PLAIN = (_ARRAY_IMPL, np.ndarray)


def _eager(
    method: Callable[..., Any], model_arg: int | None, self: Any, args: Any, kwargs: Any
) -> Any:
    self_leaves, self_def = tree_flatten(self)
    arg_leaves = tree_flatten((args, kwargs))[0]
    plain = True
    for x in itertools.chain(self_leaves, arg_leaves):
        if type(x) in _PLAIN:
            continue
        if isinstance(x, jax.core.Tracer):
            return None, False
        plain = False
    if not plain:
        # Non-array leaves (strings, Python numbers of the model) travel as static boxes.
        if model_arg is not None:
            if model_arg < len(args):
                args = (*args[:model_arg], _box_tree(args[model_arg]), *args[model_arg + 1 :])
            elif "model" in kwargs:
                kwargs = {**kwargs, "model": _box_tree(kwargs["model"])}
        args, kwargs = _box_leaves((args, kwargs))
        self_leaves, self_def = tree_flatten(_box_leaves(self))
        arg_leaves = tree_flatten((args, kwargs))[0]
    # The arrays an optimizer's own eager step made are donated to its next one,
    # so that the state is updated in place instead of in fresh buffers. Arrays
    # it did not make (a copy's, the user's) are not, nor are scalars (not worth
    # it), nor an array that is also an argument (state built from the parameter).
    # What it made is remembered as its leaves after that step, which the next
    # call finds again, object for object, unless the state was replaced since.
    taken = {id(x) for x in arg_leaves}
    made = getattr(self, OWNED_SLOT, None)
    if (
        made is not None
        and len(made[0]) == len(self_leaves)
        and all(map(operator.is_, compress(made[0], made[1]), compress(self_leaves, made[1])))
    ):
        mask = made[1]
    else:
        mask = (False,) * len(self_leaves)
    donated = [x for x, d in zip(self_leaves, mask) if d]
    if not taken.isdisjoint(map(id, donated)):
        mask = tuple(d and id(x) not in taken for x, d in zip(self_leaves, mask))
        donated = [x for x, d in zip(self_leaves, mask) if d]
    kept = [x for x, d in zip(self_leaves, mask) if not d]
    new_self, out, boxed = _run(method, self_def, mask, donated, kept, args, kwargs)
    if boxed.value:
        new_self, out = _unbox((new_self, out))
    # jax.jit returns an unchanged input as the very same array: such an array
    # (a parameter kept as state, say) is the caller's, not the optimizer's own.
    inputs = taken.union(map(id, self_leaves))
    new_leaves, new_def = tree_flatten(new_self)
    same_structure: bool = new_def == self_def  # type: ignore[operator]
    if made is not None and same_structure and len(made[2]) == len(new_leaves):
        eligible = made[2]  # the same structure: the same shapes at the same places
    else:
        eligible = tuple(type(x) is _ARRAY_IMPL and x.ndim > 0 for x in new_leaves)
    owned = tuple(e and id(x) not in inputs for x, e in zip(new_leaves, eligible))
    made = (tuple(new_leaves), owned, eligible)
    return (new_self, out, made), True


def functional_method(model_arg: int | None = None) -> Callable[[F], F]:
    """Decorate an optimizer method so that an eager call runs as one compiled call.

    Inside a JAX trace (the user's ``jax.jit``, ``vmap``, ``grad``, or flarejax's own
    compiled call) the method runs as written. Called eagerly, it runs under
    ``jax.jit`` on a copy of the optimizer; the copy's state replaces the
    optimizer's own only after success, so an exception leaves it untouched.
    ``model_arg`` is the position of the argument whose Python numbers are
    non-parameter leaves (kept static); Python numbers elsewhere are dynamic, so
    that, e.g., ``loss=float(x)`` does not recompile every step.
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if tracing():
                return method(self, *args, **kwargs)
            result, ran = _eager(method, model_arg, self, args, kwargs)
            if not ran:  # traced by the user's transformation: run inline
                return method(self, *args, **kwargs)
            new_self, out, made = result
            self.__dict__.clear()
            self.__dict__.update(new_self.__dict__)
            object.__setattr__(self, CHILDREN_SLOT, getattr(new_self, CHILDREN_SLOT, ()))
            object.__setattr__(self, OWNED_SLOT, made)
            return out

        wrapper.__flarejax_functional__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
