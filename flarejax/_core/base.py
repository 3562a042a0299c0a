"""The ``Optimizer`` base class: four hooks, a PyTree, eager or under ``jax.jit``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import PyTreeDef, register_pytree_with_keys, tree_flatten, tree_unflatten

from .._jax import carried_by_loop, with_weak_type
from .._tree import ARRAY_TYPES, is_no_grad
from . import pytree
from .checks import constructing, hyperparameter_names, under_construction, validate
from .eager import copy_optimizer, functional_method
from .entry import model_entry
from .grads import match_grads
from .init import prebuild_state
from .patterns import model_keys
from .per_step import once_per_step
from .select import select_params
from .step import check_extras, hook_updates, steps_through_call, updates_through_call

__all__ = ["Optimizer", "keep_type", "model_updates"]

# Methods run as one compiled call when called eagerly, and where their model is.
_FUNCTIONAL = {"__call__": 0, "minimize": 1, "init": 0}
# Where the new model is in their result (an nnx Module is updated in place).
_RETURNS: dict[str, Any] = {"__call__": "model", "minimize": "pair", "init": "none"}


class _Specs:
    """Shape and dtype of every parameter the optimizer has seen, by key.

    Kept in the treedef (static), so that the checks below cost nothing at run
    time: they run while a step is traced.
    """

    __flarejax_static__ = True
    __slots__ = ("_hash", "items")

    def __init__(self, items: dict[str, tuple[tuple[int, ...], str]]) -> None:
        self.items = items
        self._hash = hash(tuple(sorted(items.items())))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (isinstance(other, _Specs) and self.items == other.items)

    def __repr__(self) -> str:
        return f"_Specs({len(self.items)} parameters)"


_NO_SPECS = _Specs({})


class Optimizer:
    r"""Base class of every flarejax optimizer.

    Subclass it and override up to four hooks:

    ``__init__``
        Hyperparameters and empty per-parameter state dicts, e.g.
        ``self.m = {}`` and a step counter ``self.t = jnp.zeros((), jnp.uint32)``.
    ``call_model(self, grads, *, params, loss=None, **extras) -> grads``
        Once per step, before the per-parameter calls. ``grads`` and ``params``
        are flat dicts keyed by the parameters' dotted keys. Returns the
        (possibly transformed) gradients, with the same keys; a ``None`` value
        means "no update for this parameter" (``call_param`` is not called).
    ``call_param(self, key, grad, *, param, **extras) -> update``
        Once per parameter. Returns the update that is **subtracted** from the
        parameter (``None``: leave it unchanged).
    ``__call__(self, model, grads, **extras) -> model``
        Flattens the model, calls the two hooks above and subtracts the updates.
        Override it for full control.

    Combinators, wrappers and ``to_optax`` step an optimizer through
    ``updates(grads, params, extras)`` (flat dicts in, updates out), which runs
    the two hooks, or, in a class overriding ``__call__``, calls ``__call__``.

    Extra keyword arguments of a step (``opt(model, grads, loss=loss)``) reach
    both hooks under their own names. The hooks' own parameter names (``grad``,
    ``grads``, ``key``, ``param``, ``params``) are therefore reserved: a step
    given one raises ``TypeError`` naming it. Through ``to_optax``, optax's
    ``value=`` and ``value_fn=`` arrive as ``loss=`` and ``loss_fn=``, and its
    ``grad=`` is dropped (the hooks have the gradients).

    Every subclass is a JAX PyTree. Arrays, float hyperparameters (stored as
    weakly-typed scalar arrays), state dicts and nested optimizers are its
    children; bools, ints, strings, ``None``, callables and tuples of them are
    static, so hooks can branch on them in Python.

    Called eagerly, ``model = opt(model, grads)`` runs as one compiled
    computation (cached per model structure) and writes the new state back into
    ``opt``. Inside ``jax.jit``, pass ``opt`` in and return it::

        @jax.jit
        def train_step(opt, model, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
            model = opt(model, grads, loss=loss)
            return opt, model, loss

    An eager step updates in place (by donating their buffers to the compiled
    step) only the state arrays that nothing outside ``opt`` holds: an array
    taken out of ``opt``'s state (logged, snapshotted, shared with another
    optimizer, or held through ``copy.copy(opt)``) keeps its value, as any JAX
    array does. The gradients passed in are never donated, nor is the model,
    unless the step is told ``donate=True``: ``model = opt(model, grads,
    donate=True)`` (or ``opt.minimize(..., donate=True)``) promises that the old
    model is not used again, and the step writes the new parameters into its
    buffers and deletes its arrays, as a ``jax.jit`` step with ``donate_argnums``
    does.

    State of a parameter that no longer appears in the model stays in the state
    dicts, untouched (and is saved with checkpoints); it is used again if a
    parameter with the same key, shape and dtype reappears. A parameter whose
    shape or dtype changed after its state was built is an error.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, model_pos in _FUNCTIONAL.items():
            method = cls.__dict__.get(name)
            if method is None:
                continue
            if not getattr(method, "__flarejax_functional__", False):
                method = functional_method(model_pos, donates=name != "init")(method)
            if not getattr(method, "__flarejax_entry__", False):
                method = model_entry(model_pos, _RETURNS[name])(method)
            setattr(cls, name, method)
        if _owner(cls, "__call__") < _owner(cls, "updates"):
            # Overrides __call__ but not updates: combinators step it through __call__.
            cls.updates = updates_through_call  # type: ignore[method-assign,assignment]
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "__flarejax_recorded__", False):
            cls.__init__ = _recording_init(init)  # type: ignore[method-assign]
        _register(cls)

    __flarejax_optimizer__ = True  # what pytree.is_optimizer tests

    __slots__ = (
        "__dict__",
        "__weakref__",
        pytree.CHILDREN_SLOT,
        pytree.OWNED_SLOT,
        pytree.HISTORY_SLOT,
        pytree.TRACED_SLOT,
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> Optimizer:
        obj = super().__new__(cls)
        pytree.mark_birth(obj)
        return obj

    def __copy__(self) -> Optimizer:
        """A copy with its own state dicts: it and the original step independently."""
        return copy_optimizer(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if not isinstance(value, jax.core.Tracer) and name in hyperparameter_names(type(self)):
            # A hyperparameter set by the user: checked as __init__ checked it (not
            # again inside __init__), and given the signature a Python float has.
            # Steps assign traced state, unflatten bypasses this: both stay cheap.
            if not under_construction(self):
                validate(self, name, value, self.__dict__.get(name))
            value = pytree.as_weak_scalar(value)
        kept = getattr(self, pytree.CHILDREN_SLOT, None)
        if kept is not None and name in kept:
            # Assigned by the user: classified again by its new value.
            object.__setattr__(self, pytree.CHILDREN_SLOT, kept - {name})
        value = pytree.as_hyperparameter(value)
        if isinstance(value, (dict, list, tuple)) or (
            isinstance(value, ARRAY_TYPES) and value.ndim > 0
        ):
            # New state from the user: release what the last eager step made.
            object.__setattr__(self, pytree.OWNED_SLOT, None)
        object.__setattr__(self, name, value)

    # -- the hooks ---------------------------------------------------------------

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array]:
        """Transform the whole flat dict of gradients, once per step. Default: identity."""
        return grads

    def call_param(
        self, key: str, grad: jax.Array, *, param: jax.Array, **extras: Any
    ) -> jax.Array | None:
        """The update subtracted from the parameter ``key``. Default: the gradient."""
        return grad

    def updates(
        self, grads: dict[str, jax.Array], params: dict[str, jax.Array], extras: dict[str, Any]
    ) -> dict[str, jax.Array | None]:
        """The updates subtracted from ``params`` for ``grads`` (flat dicts), by key.

        Advances the state. ``None`` means "no update for this parameter". The
        one method that steps an optimizer: the base ``__call__``, ``Chain``,
        ``Partition``, the wrappers and ``to_optax`` call it. Default: the hooks
        (``call_model`` once, then ``call_param``). A subclass overriding
        ``__call__`` but not ``updates`` gets one that calls ``__call__`` on the
        flat dicts and returns the parameters minus its result.
        """
        return hook_updates(self, grads, params, extras)

    @model_entry(0, "model")
    @functional_method(0, donates=True)
    def __call__(self, model: Any, grads: Any, *, wrt: Any = None, **extras: Any) -> Any:
        """Apply one step: return the updated model and advance the optimizer's state.

        ``grads`` has the model's structure; ``None`` (or float0) leaves mean
        "no update". Extra keyword arguments (e.g. ``loss=``) reach both hooks.

        The parameters are the inexact array leaves of ``model``; in a model
        holding flax.nnx ``Variable`` objects, those of ``nnx.Param`` variables
        only (batch statistics, RNG state are never updated). ``grads`` may then
        be the ``State`` that ``nnx.grad`` returns. ``wrt`` selects the
        parameters explicitly: an nnx filter, or a key pattern or predicate.
        An nnx ``Module`` is updated in place (as by ``nnx.Optimizer.update``)
        and returned itself; other models are never modified: a new one is returned.

        ``donate=True`` (eager steps; inside ``jax.jit``, ``donate_argnums``
        decides) donates the model's arrays to the step: the new parameters are
        written into the old ones' buffers, and the old arrays are deleted.
        Each array must then be held by the model alone, once (a ``ValueError``
        otherwise); one that the optimizer's state also holds is not donated.
        """
        keys, leaves, treedef, updates = model_updates(self, model, grads, extras, wrt)
        params = dict(zip(keys, leaves))
        new_leaves = [
            leaf if updates.get(key) is None else _subtract(params[key], updates[key])
            for key, leaf in zip(keys, leaves)
        ]
        return tree_unflatten(treedef, new_leaves)

    # -- conveniences built on the hooks -----------------------------------------

    @model_entry(1, "pair")
    @functional_method(1, donates=True)
    def minimize(
        self,
        loss_fn: Callable[..., Any],
        model: Any,
        *args: Any,
        has_aux: bool = False,
        wrt: Any = None,
        **extras: Any,
    ) -> tuple[Any, Any]:
        """One training step: ``model, loss = opt.minimize(loss_fn, model, *args)``.

        Differentiates ``loss_fn(model, *args)`` with respect to the model's
        parameters (chosen as in ``__call__``, ``wrt`` included), applies the
        update with ``loss=`` passed to the hooks, and returns the new model and
        the value of ``loss_fn`` (``(loss, aux)`` with ``has_aux=True``).
        Eagerly, the gradient and the update run as one compiled call, cached
        per code of ``loss_fn``: a new closure or ``functools.partial`` every
        step (e.g. ``lambda m: loss(m, batch)``) compiles once, its captured
        arrays being inputs of the call.

        With a flax.nnx model, what the forward pass writes into variables that
        are not parameters (BatchNorm's running statistics in training mode,
        RNG counts) is kept, as ``nnx.value_and_grad`` keeps it; an nnx
        ``Module`` is updated in place and returned itself.
        """
        _, leaves, treedef, mask, owners = select_params(model, wrt)
        # Arrays of nnx variables that are not parameters: the forward pass may write them.
        written = [
            o is not None and not m and isinstance(x, ARRAY_TYPES)
            for x, m, o in zip(leaves, mask, owners)
        ]

        def loss_of(params: list[Any]) -> Any:
            full = [p if m else x for p, m, x in zip(params, mask, leaves)]
            inner = tree_unflatten(treedef, full)
            out = loss_fn(inner, *args)
            value, aux = out if has_aux else (out, None)
            return value, (aux, _written_leaves(inner, treedef, written))

        params = [x if m else None for x, m in zip(leaves, mask)]
        (loss, (aux, after)), grads = jax.value_and_grad(loss_of, has_aux=True)(params)
        if after is not None:
            it = iter(after)
            model = tree_unflatten(treedef, [next(it) if w else x for x, w in zip(leaves, written)])
        select = {} if wrt is None else {"wrt": wrt}
        model = self(model, tree_unflatten(treedef, grads), loss=loss, **select, **extras)
        return model, ((loss, aux) if has_aux else loss)

    @model_entry(0, "none")
    def init(self, model: Any, *, wrt: Any = None, **extras: Any) -> None:
        """Build now the state that the first step would build lazily.

        The values are those the lazy build produces (whatever the build
        writes, not only zeros), with the dtypes and weak types that the step
        itself returns, so that a jitted step compiles exactly once afterwards.
        ``extras`` are passed to the hooks as in a step (e.g. ``loss=``);
        ``wrt`` selects the parameters as in ``__call__``. The model is not modified.
        """
        prebuild_state(self, model, extras if wrt is None else {**extras, "wrt": wrt})

    # -- hyperparameters -----------------------------------------------------------

    def current(self, value: Any) -> Any:
        """``value``, or ``value(count)`` when it is a schedule, inside a step.

        ``count`` is the number of steps completed before the current one
        (``self.t - 1`` once ``call_model`` has advanced the step counter
        ``self.t``), as optax evaluates its schedules. Use it in hooks for every
        hyperparameter that may be scheduled::

            lr = self.current(self.learning_rate)
        """
        if callable(value) and not isinstance(value, (Optimizer, type)):
            if "t" not in self.__dict__:
                raise TypeError(
                    f"{type(self).__name__} has a scheduled hyperparameter but no step "
                    "counter self.t; set self.t = jnp.zeros((), jnp.uint32) in __init__ "
                    "and advance it in call_model"
                )
            # Evaluated once per step, not once per parameter.
            return once_per_step(_at_count, value, self.__dict__["t"])
        return value

    def takes_per_example_grads(self) -> bool:
        """Whether a step's gradients carry a leading batch axis, one slice per example.

        False but for the per-example clips (``PerExampleGlobalNormClip``), which
        reduce the batch; a ``Chain`` asks its first member. The gradients of a
        parameter of shape ``s`` then have shape ``(batch, *s)``.
        """
        return False

    def hyperparameters(self) -> dict[str, Any]:
        """The current value of every hyperparameter, by name, e.g. for logging.

        Hyperparameters are the arguments of ``__init__`` stored under their own
        name; a schedule is evaluated at the step count the next step will use.
        A callable that is not a schedule (a mask, say: it fails on a step count
        or returns no float scalar) is reported as itself.
        Nested optimizers contribute theirs, prefixed by the attribute's name.
        """
        out: dict[str, Any] = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name == "self" or name not in self.__dict__:
                continue
            value = self.__dict__[name]
            if isinstance(value, Optimizer):
                out.update({f"{name}.{k}": v for k, v in value.hyperparameters().items()})
            elif callable(value) and not isinstance(value, type):
                out[name] = _evaluate_schedule(value, self.__dict__.get("t", 0))
            else:
                out[name] = value
        return out

    # -- interop and checkpoints ----------------------------------------------------
    # Facades: their modules (flarejax.optim._interop: _optax, _state_dict, _summary) build
    # on this class, so they are imported when called, not when this module loads.

    def to_optax(self) -> Any:
        """This optimizer as an optax ``GradientTransformationExtraArgs``."""
        from ..optim._interop._optax import to_optax

        return to_optax(self)

    def state_dict(self) -> dict[str, Any]:
        """The state as a flat dict of NumPy arrays and Python scalars, by readable name."""
        from ..optim._interop._state_dict import state_dict

        return state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; on any mismatch raise and change nothing."""
        from ..optim._interop._state_dict import load_state_dict

        load_state_dict(self, state)

    def summary(self, model: Any = None) -> str:
        """A table of the hyperparameters and the state: shapes, dtypes, bytes, totals.

        With ``model``, the state's size is also given as a multiple of the
        parameters' bytes. See :func:`flarejax.optim.summary`.
        """
        from ..optim._interop._summary import summary

        return summary(self, model)

    # -- internals ----------------------------------------------------------------

    def _check_specs(self, params: dict[str, Any]) -> None:
        specs: _Specs = self.__dict__.get("_specs", _NO_SPECS)
        new = None
        for key, p in params.items():
            spec = (tuple(p.shape), str(p.dtype))
            seen = specs.items.get(key)
            if seen is None:
                new = dict(specs.items) if new is None else new
                new[key] = spec
            elif seen != spec:
                raise ValueError(
                    f"parameter {key!r} has shape {spec[0]} and dtype {spec[1]}, but "
                    f"the optimizer's state for it was built for shape {seen[0]} and "
                    f"dtype {seen[1]}; create a new optimizer for the changed model"
                )
        if new is not None:
            _check_not_in_loop(self)
            self._specs = _Specs(new)

    def __repr__(self) -> str:
        parts = []
        for name, value in sorted(self.__dict__.items()):
            if name.startswith("_"):
                continue
            if isinstance(value, dict):
                parts.append(f"{name}={{{len(value)} entries}}")
            elif isinstance(value, ARRAY_TYPES) and np.ndim(value) == 0:
                try:
                    parts.append(f"{name}={_show_scalar(value)}")
                except Exception:  # a tracer
                    parts.append(f"{name}=<{value.dtype}[]>")
            elif isinstance(value, ARRAY_TYPES):
                parts.append(f"{name}=<{value.dtype}{list(value.shape)}>")
            else:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _check_not_in_loop(opt: Optimizer) -> None:
    """Raise if ``opt`` is a loop carry and its step is about to build state.

    The first step adds state (and the parameters' specs) to the optimizer,
    which changes its structure; a loop carry must keep its structure, and jax
    would only report "carry input and carry output must have the same pytree
    structure". An optimizer made inside the loop body (its leaves are not
    inputs of the traced function) builds its state there freely.
    """
    for leaf in jax.tree_util.tree_leaves(opt):
        if isinstance(leaf, jax.core.Tracer):
            if carried_by_loop(leaf):
                raise TypeError(
                    f"{type(opt).__name__} builds its state on its first step, which "
                    "changes its structure, but it is carried through a jax.lax.scan / "
                    "fori_loop / while_loop, whose carry must keep its structure: call "
                    "opt.init(model) before the loop (or take one step outside it)"
                )
            return


def _show_scalar(value: Any) -> str:
    """A scalar as the user wrote it: the shortest decimal that its dtype rounds back.

    ``0.01`` stored as float32 is 0.009999999776482582; NumPy prints a float32
    (or bfloat16) scalar with the fewest digits that identify it: ``0.01``.
    """
    x = np.asarray(value)[()]
    if jnp.issubdtype(x.dtype, jnp.floating):
        return str(x)
    return repr(x.item())


def _evaluate_schedule(fn: Callable[..., Any], count: Any) -> Any:
    try:
        value = fn(jnp.asarray(count, jnp.int32))
    except Exception:
        return fn
    if (
        isinstance(value, (float, *ARRAY_TYPES))
        and jnp.issubdtype(jnp.result_type(value), jnp.floating)
        and jnp.ndim(value) == 0
    ):
        return value
    return fn


def _recording_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init``, recording the hyperparameter checks it makes (see ``checks``)."""

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        with constructing(self):
            init(self, *args, **kwargs)

    __init__.__flarejax_recorded__ = True  # type: ignore[attr-defined]
    return __init__


def _register(cls: type) -> None:
    register_pytree_with_keys(
        cls,
        pytree.flatten_with_keys,
        lambda aux, children: pytree.unflatten(cls, aux, children),
        pytree.flatten,
    )


_register(Optimizer)


def _written_leaves(model: Any, treedef: PyTreeDef, written: list[bool]) -> list[Any] | None:
    """The leaves of ``model`` marked ``written``, as the forward pass left them.

    ``None`` when nothing is marked or the forward pass changed the structure.
    """
    if not any(written):
        return None
    leaves, now = tree_flatten(model)
    if now != treedef:
        return None
    return [x for x, w in zip(leaves, written) if w]


def _subtract(param: jax.Array, update: Any) -> jax.Array:
    return keep_type((param - jnp.asarray(update)), param)


def keep_type(x: Any, like: Any) -> jax.Array:
    """``x`` with the dtype *and weak type* of ``like``.

    A weakly-typed parameter (``jnp.asarray(0.5)``) returned strongly typed
    would change the step's signature after its first call: a jitted step would
    compile again, and the state ``init`` built for it would no longer match.
    """
    weak = jax.typeof(like).weak_type
    if x.dtype == like.dtype and jax.typeof(x).weak_type == weak:
        return x
    return with_weak_type(x, like.dtype, weak)  # type: ignore[no-any-return]


def _owner(cls: type, name: str) -> int:
    """The position in ``cls``'s MRO of the class that defines ``name``."""
    return next(i for i, c in enumerate(cls.__mro__) if name in c.__dict__)


def _at_count(schedule: Callable[..., Any], t: Any) -> Any:
    """``schedule`` at the count of completed steps, ``t - 1``."""
    return schedule(jnp.asarray(t, jnp.int32) - 1)


def model_updates(
    opt: Optimizer, model: Any, grads: Any, extras: dict[str, Any], wrt: Any = None
) -> tuple[list[str], list[Any], PyTreeDef, dict[str, Any]]:
    """Step ``opt`` on ``model``: its keys, leaves, treedef, and the updates by key.

    Selects the parameters (``wrt``), matches the gradients, checks the
    parameters' specs, then calls ``opt.updates``; or the hooks, when ``opt``
    overrides ``__call__`` (this is its ``super().__call__``).
    """
    keys, leaves, treedef, flags, owners = select_params(model, wrt)
    grad_leaves = match_grads(
        keys, leaves, grads, [o is not None for o in owners], opt.takes_per_example_grads()
    )
    params, g = {}, {}
    for key, leaf, grad, flag in zip(keys, leaves, grad_leaves, flags):
        if flag and not is_no_grad(grad):
            params[key], g[key] = leaf, grad
    opt._check_specs(params)
    selected = [k for k, f in zip(keys, flags) if f]
    with model_keys(lambda: selected):
        check_extras(extras)
        if steps_through_call(opt):
            updates = hook_updates(opt, g, params, extras)
        else:
            updates = opt.updates(g, params, extras)
    return keys, leaves, treedef, updates
