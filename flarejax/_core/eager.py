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

import contextlib
import functools
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import compress
from sys import getrefcount
from typing import Any, NamedTuple, TypeVar

import jax
import numpy as np
from jax.tree_util import (
    PyTreeDef,
    register_pytree_node_class,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_unflatten,
)

from .._jax import ARRAY_IMPL, cache_size, shard_alike, under_jit
from .._tree import ARRAY_TYPES
from .closures import as_pytrees, rebuild
from .pytree import CHILDREN_SLOT, OWNED_SLOT, TRACED_SLOT
from .reach import DONATION_WORKS, container_paths, unshared
from .recompiles import history_of, note_recompile

__all__ = [
    "Static",
    "StepRecord",
    "copy_optimizer",
    "functional_method",
    "own_state",
    "step_record",
    "traced_here",
    "tracing",
]

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()


def tracing() -> bool:
    """True while a flarejax method runs inside its own compiled call."""
    return getattr(_state, "depth", 0) > 0


@contextlib.contextmanager
def traced_here() -> Iterator[None]:
    """Run methods as written, as inside the compiled call (for a trace of flarejax's own)."""
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


@register_pytree_node_class
class Static:
    """A non-array leaf carried in the treedef, so that ``jax.jit`` hashes it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def tree_flatten(self) -> tuple[tuple[()], Any]:
        return (), self.value

    @classmethod
    def tree_unflatten(cls, value: Any, _: Any) -> Static:
        return cls(value)

    def __hash__(self) -> int:
        try:
            return hash((type(self.value), self.value))
        except TypeError:
            return id(self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Static) or type(self.value) is not type(other.value):
            return False
        if self.value is other.value:
            return True
        try:
            return bool(self.value == other.value)
        except Exception:
            return False


class StepRecord(NamedTuple):
    """What an eager step made, kept in the optimizer (``OWNED_SLOT``) for the next one."""

    leaves: tuple[Any, ...]  # the optimizer's leaves after the step
    owned: tuple[bool, ...]  # which of them the step made, held by nothing else then
    eligible: tuple[bool, ...]  # which may be donated at all: arrays, not scalars
    treedef: PyTreeDef  # the optimizer's structure after the step
    paths: Any  # where its containers are (reach.container_paths)


_NUMBERS = (int, float, complex)


def _box_leaves(tree: Any) -> Any:
    """Box every leaf that cannot be a ``jax.jit`` argument; numbers stay dynamic."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(
        treedef,
        [
            x
            if isinstance(x, ARRAY_TYPES) or (isinstance(x, _NUMBERS) and not isinstance(x, bool))
            else Static(x)
            for x in leaves
        ],
    )


def _box_tree(tree: Any) -> Any:
    """Box every non-array leaf of a model: its Python numbers are not parameters."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [x if isinstance(x, ARRAY_TYPES) else Static(x) for x in leaves])


def _unbox(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree, is_leaf=lambda x: isinstance(x, Static))
    return tree_unflatten(treedef, [x.value if isinstance(x, Static) else x for x in leaves])


def _box_output(tree: Any) -> tuple[Any, Any, Static]:
    """Box the non-array leaves of the result; say whether there were any."""
    leaves, treedef = tree_flatten(tree)
    dynamic = [isinstance(x, (*ARRAY_TYPES, jax.core.Tracer)) for x in leaves]
    boxed = tree_unflatten(treedef, [x if d else Static(x) for x, d in zip(leaves, dynamic)])
    return (*boxed, Static(not all(dynamic)))


def _box_args(tree: Any) -> Any:
    """Box the arguments; functions and partials become PyTrees of what they capture."""
    return _box_leaves(as_pytrees(tree, _box_tree, Static))


# Raised by int(x), bool(x), np.asarray(x) on a traced value x.
_CONCRETIZATION = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerIntegerConversionError,
    jax.errors.TracerArrayConversionError,
)


def _call(method: Callable[..., Any], self: Any, args: Any, kwargs: Any) -> Any:
    self, args, kwargs = _unbox((self, args, kwargs))
    args, kwargs = rebuild((args, kwargs))
    before = tree_flatten(self)
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        out = method(self, *args, **kwargs)
    except _CONCRETIZATION as e:
        raise _hooks_run_traced(e) from None
    finally:
        _state.depth -= 1
    _check_state(self)
    # The new optimizer as its leaves and structure: the caller needs both, and
    # flattening it again outside would cost as much as the step's dispatch.
    new_leaves, new_def = tree_flatten(_keep_placement(before, self))
    leaves, out, boxed = _box_output((new_leaves, out))
    return leaves, Static(new_def), out, boxed


def _hooks_run_traced(error: Exception) -> Exception:
    """``error`` (same type, same traceback) with a message naming the hook and the fix."""
    hook = "a hook"
    tb = error.__traceback__
    while tb is not None:  # the innermost method of an optimizer names the hook
        owner = tb.tb_frame.f_locals.get("self")
        if hasattr(type(owner), OWNED_SLOT):
            hook = f"{type(owner).__name__}.{tb.tb_frame.f_code.co_name}"
        tb = tb.tb_next
    first = str(error).strip().splitlines()[0]
    message = (
        f"{hook} needs a concrete value of a traced array ({first}). An eager step runs "
        "the hooks traced, as one compiled call, exactly as under jax.jit: state and "
        "hyperparameters are tracers there, not values. Keep them arrays: use jnp.where "
        "or jax.lax.cond instead of Python if, jax.debug.print instead of print, and "
        "read the value outside the step (int(opt.t) after it)."
    )
    new = type(error).__new__(type(error))
    jax.errors.JAXTypeError.__init__(new, message)  # type: ignore[arg-type]
    return new.with_traceback(error.__traceback__)


_JIT_LEAF = (*ARRAY_TYPES, jax.core.Tracer, bool, int, float, complex)


def _check_state(self: Any) -> None:
    """State must be what ``jax.jit`` accepts, so that eager and jit steps agree."""
    if all(isinstance(x, _JIT_LEAF) for x in tree_leaves(self)):
        return
    for path, x in tree_flatten_with_path(self)[0]:
        if not isinstance(x, _JIT_LEAF):
            where = type(self).__name__ + jax.tree_util.keystr(path)
            raise TypeError(
                f"{where} is a {type(x).__name__} ({x!r}) kept in the optimizer's state: "
                "state containers (dicts, lists) may hold only arrays and numbers, which "
                "jax.jit can pass in and out. Keep other values in a tuple, which is "
                "static (e.g. self.keys = (*self.keys, key)), or as the keys of a dict."
            )


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


# The optimizer and the arguments cross as flat lists beside their (static)
# structures: flattened once here, they are not flattened again by jax.jit, whose
# C++ fast path takes a list of arrays at little cost (dicts cost a sort each).
@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3), donate_argnums=4)
def _run(
    method: Callable[..., Any],
    self_def: PyTreeDef,
    donated_mask: tuple[bool, ...],
    args_def: PyTreeDef,
    donated: list[Any],
    kept: list[Any],
    arg_leaves: list[Any],
) -> Any:
    it_donated, it_kept = iter(donated), iter(kept)
    leaves = [next(it_donated) if d else next(it_kept) for d in donated_mask]
    args, kwargs = tree_unflatten(args_def, arg_leaves)
    return _call(method, tree_unflatten(self_def, leaves), args, kwargs)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4, 5, 10), donate_argnums=(6, 8))
def _run_donating_model(
    method: Callable[..., Any],
    self_def: PyTreeDef,
    donated_mask: tuple[bool, ...],
    model_at: int | str,
    model_def: PyTreeDef,
    model_mask: tuple[bool, ...],
    donated: list[Any],
    kept: list[Any],
    model_donated: list[Any],
    model_kept: list[Any],
    args_def: PyTreeDef,
    arg_leaves: list[Any],
) -> Any:
    """``_run`` with the model's arrays donated too (``donate=True``)."""
    it_model, it_model_kept = iter(model_donated), iter(model_kept)
    model = [next(it_model) if d else next(it_model_kept) for d in model_mask]
    args, kwargs = tree_unflatten(args_def, arg_leaves)
    args, kwargs = _put_model(model_at, tree_unflatten(model_def, model), args, kwargs)
    it_donated, it_kept = iter(donated), iter(kept)
    leaves = [next(it_donated) if d else next(it_kept) for d in donated_mask]
    return _call(method, tree_unflatten(self_def, leaves), args, kwargs)


# The number of compiled variants of the step (jax.jit's private cache counter): a
# step that grew it compiled.
_compiled_plain: Callable[[], int] = cache_size(_run)
_compiled_donating: Callable[[], int] = cache_size(_run_donating_model)


def _compiled_steps() -> int:
    return _compiled_plain() + _compiled_donating()


def _put_model(at: int | str, model: Any, args: Any, kwargs: Any) -> tuple[Any, Any]:
    """``args``, ``kwargs`` with ``model`` at ``at`` (a position, or ``"model"``)."""
    if isinstance(at, int):
        return (*args[:at], model, *args[at + 1 :]), kwargs
    return args, {**kwargs, at: model}


def _take_model(
    model_arg: int, self_leaves: list[Any], args: Any, kwargs: Any
) -> tuple[int | str, PyTreeDef, tuple[bool, ...], list[Any], PyTreeDef, list[Any]]:
    """Where the model is, its structure, which leaves to donate, the leaves, and
    the arguments without the model (their structure and leaves).

    Each array of the model must be held once by it and by no other argument (an
    error otherwise). One that the optimizer's state holds too (state built as
    the parameter itself, e.g. a copy of the weights) is not donated.
    """
    at: int | str = model_arg if model_arg < len(args) else "model"
    model = args[at] if isinstance(at, int) else kwargs[at]
    args, kwargs = _put_model(at, None, args, kwargs)
    leaves, model_def = tree_flatten(model)
    rest, rest_def = tree_flatten((args, kwargs))
    elsewhere = {id(x): "another argument of the step" for x in rest}
    state = {id(x) for x in self_leaves}
    seen: set[int] = set()
    for i, x in enumerate(leaves):
        if type(x) is not ARRAY_IMPL:
            continue
        where = "another leaf of the model" if id(x) in seen else elsewhere.get(id(x))
        if where is not None or x.is_deleted():
            path = jax.tree_util.keystr(tree_flatten_with_path(model)[0][i][0]) or "(root)"
            if where is None:
                raise ValueError(
                    f"donate=True: the model's array at {path} was deleted already (donated "
                    "to an earlier step?): step the model that step returned"
                )
            raise ValueError(
                f"donate=True: the model's array at {path} is also held by {where}; a "
                "donated model's arrays are deleted by the step, so each must be held by "
                "the model alone, once. Pass a copy (jax.tree.map(jnp.copy, model)) or "
                "step without donate=True."
            )
        seen.add(id(x))
    mask = tuple(type(x) is ARRAY_IMPL and id(x) not in state for x in leaves)
    return at, model_def, mask, leaves, rest_def, rest


_PLAIN = (ARRAY_IMPL, np.ndarray)
_PLAIN_TYPES = frozenset(_PLAIN)


def _kinds(leaves: list[Any], more: list[Any]) -> tuple[bool, bool]:
    """(whether any leaf is a tracer, whether all are plain arrays)."""
    if _PLAIN_TYPES.issuperset(map(type, leaves)) and _PLAIN_TYPES.issuperset(map(type, more)):
        return False, True  # the common case, tested at C speed
    plain = True
    for leaves_ in (leaves, more):
        for x in leaves_:
            if type(x) in _PLAIN:
                continue
            if isinstance(x, jax.core.Tracer):
                return True, False
            plain = False
    return False, plain


def _donatable(self: Any, self_leaves: list[Any], made: StepRecord | None) -> tuple[bool, ...]:
    """Which leaves to donate: made by the last step, and reachable from nowhere else.

    The arrays an optimizer's own eager step made are donated to its next one,
    so that the state is updated in place instead of in fresh buffers. Arrays
    it did not make (the user's, an argument's) are not, nor are scalars (not
    worth it). What it made is remembered as its leaves after that step, which
    the next call finds again, object for object, unless the state was replaced
    since; of those, only the ones that nothing outside the optimizer holds (a
    log, a snapshot, a copy, an argument) are donated. ``self_leaves`` must be
    the caller's only list of the leaves (``unshared`` counts it), and ``made``
    (or None) the last step's, of the same structure: its containers are where
    that step left them.
    """
    none = (False,) * len(self_leaves)
    if made is None or not DONATION_WORKS or len(made.leaves) != len(self_leaves):
        return none
    mine = made.owned
    if not any(mine) or not all(
        map(operator.is_, compress(made.leaves, mine), compress(self_leaves, mine))
    ):
        return none
    return unshared(self, self_leaves, mine, made.paths)


def _eager(
    method: Callable[..., Any],
    model_arg: int | None,
    self: Any,
    args: Any,
    kwargs: Any,
    donate_model: bool = False,
) -> tuple[Any, Any, StepRecord] | None:
    """Run ``method`` as one compiled call: the new optimizer, the result, the record.

    ``None`` when the optimizer or the arguments are traced (the user's trace).
    With ``donate_model``, the model's arrays are donated to the call.
    """
    self_leaves, self_def = tree_flatten(self)
    arg_leaves, args_def = tree_flatten((args, kwargs))
    traced, plain = _kinds(self_leaves, arg_leaves)
    if traced:
        return None
    if not plain:
        # Non-array leaves (strings, Python numbers of the model) travel as static boxes.
        if model_arg is not None:
            if model_arg < len(args):
                args = (*args[:model_arg], _box_tree(args[model_arg]), *args[model_arg + 1 :])
            elif "model" in kwargs:
                kwargs = {**kwargs, "model": _box_tree(kwargs["model"])}
        args, kwargs = _box_args((args, kwargs))
        self_leaves, self_def = tree_flatten(_box_leaves(self))
        arg_leaves, args_def = tree_flatten((args, kwargs))
    made: StepRecord | None = getattr(self, OWNED_SLOT, None)
    if made is not None and made.treedef != self_def:
        made = None  # the structure changed since: start afresh
    mask = _donatable(self, self_leaves, made)
    donated = list(compress(self_leaves, mask))
    kept = list(compress(self_leaves, map(operator.not_, mask)))
    history = history_of(self)
    compiled = _compiled_steps()
    if donate_model and model_arg is not None:
        at, model_def, model_mask, model, rest_def, arg_leaves = _take_model(
            model_arg, self_leaves, args, kwargs
        )
        new_leaves, new_def, out, boxed = _run_donating_model(
            method,
            self_def,
            mask,
            at,
            model_def,
            model_mask,
            donated,
            kept,
            [x for x, d in zip(model, model_mask) if d],
            [x for x, d in zip(model, model_mask) if not d],
            rest_def,
            arg_leaves,  # without the model's arrays: they are gone
        )
    else:
        new_leaves, new_def, out, boxed = _run(
            method, self_def, mask, args_def, donated, kept, arg_leaves
        )
    if _compiled_steps() != compiled:
        note_recompile(self, history, self_def)
    history.treedef = self_def
    if boxed.value:
        new_leaves, out = _unbox((new_leaves, out))
    new_def = new_def.value
    new_self = tree_unflatten(new_def, new_leaves)
    # jax.jit returns an unchanged input as the very same array: such an array
    # (a parameter kept as state, say) is the caller's, not the optimizer's own.
    inputs = arg_leaves + self_leaves
    return new_self, out, step_record(new_self, self_def, made, inputs, (new_leaves, new_def))


# The references of an array made by the step while ``step_record`` counts them.
_FRESH_REFS = 3


def step_record(
    new_self: Any,
    self_def: PyTreeDef | None,
    made: StepRecord | None,
    inputs: Sequence[Any],
    flat: tuple[list[Any], PyTreeDef] | None = None,
) -> StepRecord:
    """What a step made: the arrays of ``new_self`` that are none of ``inputs`` (the
    leaves that went into the step, compared by identity).

    ``flat``: ``new_self``'s leaves and structure, when the caller has them.
    """
    new_leaves, new_def = tree_flatten(new_self) if flat is None else flat
    same_structure = made is not None and bool(new_def == self_def)  # type: ignore[operator]
    if made is not None and same_structure and len(made.eligible) == len(new_leaves):
        eligible = made.eligible  # the same structure: the same shapes at the same places
    else:
        eligible = tuple(type(x) is ARRAY_IMPL and x.ndim > 0 for x in new_leaves)
    # An array the step made is held by ``new_leaves``, its container in ``new_self``
    # and getrefcount's argument alone; an input is held by ``inputs`` too. When
    # every eligible array has just those three, none is an input (the common
    # case, tested at C speed; every count is at least three, so the sum says it);
    # otherwise, or where this interpreter counts differently (the probe of
    # reach.py), they are compared by id.
    fresh = DONATION_WORKS and sum(
        map(getrefcount, compress(new_leaves, eligible))
    ) == _FRESH_REFS * sum(eligible)
    if fresh or set(map(id, compress(new_leaves, eligible))).isdisjoint(map(id, inputs)):
        owned = eligible
    else:
        ids = set(map(id, inputs))
        owned = tuple(map(operator.gt, eligible, map(ids.__contains__, map(id, new_leaves))))
    if made is not None and same_structure:
        paths = made.paths
    else:
        paths = container_paths(new_self, ARRAY_IMPL)
    return StepRecord(tuple(new_leaves), owned, eligible, new_def, paths)


def own_state(opt: Any, inputs: Sequence[Any]) -> None:
    """Mark the arrays of ``opt`` that are none of ``inputs`` (leaves) as its own (``init``).

    Built outside a step, they are donated to the next eager step as a step's are.
    """
    object.__setattr__(opt, OWNED_SLOT, step_record(opt, None, None, inputs))


def functional_method(model_arg: int | None = None, donates: bool = False) -> Callable[[F], F]:
    """Decorate an optimizer method so that an eager call runs as one compiled call.

    Inside a JAX trace (the user's ``jax.jit``, ``vmap``, ``grad``, or flarejax's own
    compiled call) the method runs as written. Called eagerly, it runs under
    ``jax.jit`` on a copy of the optimizer; the copy's state replaces the
    optimizer's own only after success, so an exception leaves it untouched.
    ``model_arg`` is the position of the argument whose Python numbers are
    non-parameter leaves (kept static); Python numbers elsewhere are dynamic, so
    that, e.g., ``loss=float(x)`` does not recompile every step. With ``donates``,
    the method takes ``donate=True``: an eager call donates the model's arrays
    (inside a trace it has no effect: ``jax.jit``'s ``donate_argnums`` decides).
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            donate = kwargs.pop("donate", False) if donates else False
            if donate is not False and donate is not True:
                raise TypeError(f"donate must be True or False, got {donate!r}")
            if tracing():
                return method(self, *args, **kwargs)
            with _lock_of(self):
                done = _eager(method, model_arg, self, args, kwargs, donate)
                if done is not None:
                    new_self, out, record = done
                    _write_back(self, new_self, record)
                    return out
            # Traced by the user's transformation: run inline.
            return _inline(method, self, args, kwargs)

        wrapper.__flarejax_functional__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# Two threads stepping one optimizer eagerly take turns: each step reads the state
# the other wrote (no lost update) and never donates buffers the other is using.
# A fixed set of locks, chosen by the optimizer's id: nothing to copy or pickle.
_LOCKS = tuple(threading.RLock() for _ in range(64))


def _lock_of(self: Any) -> threading.RLock:
    return _LOCKS[(id(self) >> 4) % len(_LOCKS)]


def _write_back(self: Any, new_self: Any, record: StepRecord | None) -> None:
    self.__dict__.clear()
    self.__dict__.update(new_self.__dict__)
    object.__setattr__(self, CHILDREN_SLOT, getattr(new_self, CHILDREN_SLOT, ()))
    object.__setattr__(self, OWNED_SLOT, record)


def copy_optimizer(opt: Any) -> Any:
    """A copy with its own containers (dicts, lists, nested optimizers), sharing arrays.

    Neither the copy nor the original donates an array they both hold; each
    steps independently.
    """
    leaves, treedef = tree_flatten(opt)
    new = tree_unflatten(treedef, leaves)
    object.__setattr__(new, OWNED_SLOT, getattr(opt, OWNED_SLOT, None))
    return new


def _inline(method: Callable[..., Any], self: Any, args: Any, kwargs: Any) -> Any:
    """Run ``method`` as written, inside the user's trace.

    An optimizer passed into the user's ``jax.jit`` (or ``vmap``, ``grad``,
    ``scan``) has traced leaves, or was built inside the trace (``jax.jit(tx.init)``
    builds one there). One made outside whose leaves are all concrete under a
    ``jax.jit`` trace was closed over instead: its step
    would leave tracers in it and never advance its state. That is refused,
    and the optimizer is left as it was.
    """
    leaves = tree_leaves(self)
    if (
        getattr(self, TRACED_SLOT, False)
        or not any(isinstance(x, ARRAY_TYPES) for x in leaves)
        or any(isinstance(x, jax.core.Tracer) for x in leaves)
        or not under_jit()
    ):
        return _run_inline(method, self, args, kwargs)
    saved = copy_optimizer(self)
    try:
        out = _run_inline(method, self, args, kwargs)
        if not any(isinstance(x, jax.core.Tracer) for x in tree_leaves(self)):
            return out
    except BaseException:
        _restore(self, saved)
        raise
    _restore(self, saved)
    raise RuntimeError(_closed_over_message(type(self).__name__))


def _run_inline(method: Callable[..., Any], self: Any, args: Any, kwargs: Any) -> Any:
    # Only the outermost call checks the state: nested ones may see it half-built.
    outermost = getattr(_state, "inline", 0) == 0
    _state.inline = getattr(_state, "inline", 0) + 1
    try:
        out = method(self, *args, **kwargs)
    finally:
        _state.inline -= 1
    if outermost:
        _check_state(self)
    return out


def _restore(self: Any, saved: Any) -> None:
    _write_back(self, saved, getattr(self, OWNED_SLOT, None))


def _closed_over_message(name: str) -> str:
    return (
        f"this {name} was closed over by a jax.jit (or lax.scan) function instead of "
        "being passed in: its state would hold tracers afterwards and never advance. "
        "Pass the optimizer in and return it, as the model:\n\n"
        "    @jax.jit\n"
        "    def train_step(opt, model, batch):\n"
        "        grads = jax.grad(loss_fn)(model, batch)\n"
        "        model = opt(model, grads)\n"
        "        return opt, model\n\n"
        "    opt, model = train_step(opt, model, batch)\n\n"
        f"(or call the {name} outside the jitted function: it compiles its own step)."
    )
