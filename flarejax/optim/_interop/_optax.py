"""optax interop: any optax transformation as an ``Optimizer``, any ``Optimizer`` as one.

optax is imported when first needed: it is not a dependency of flarejax itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import (
    tree_flatten,
    tree_flatten_with_path,
    tree_map_with_path,
    tree_unflatten,
)

from ..._core.base import Optimizer, keep_type, model_updates
from ..._core.eager import functional_method
from ..._core.grads import match_grads
from ..._core.init import cast_like, same_structure
from ..._core.step import steps_through_call
from ..._tree import flat_keys, is_no_grad, is_param, key_of

if TYPE_CHECKING:
    import optax

__all__ = ["OptaxOptimizer", "from_optax", "to_optax"]


class _Tx:
    """An optax transformation kept in the treedef: its functions are code, not state."""

    __flarejax_static__ = True
    __slots__ = ("given", "tx")

    def __init__(self, given: Any, tx: optax.GradientTransformationExtraArgs) -> None:
        self.given = given
        self.tx = tx

    def __hash__(self) -> int:
        try:
            return hash(self.tx)
        except TypeError:
            return id(self.tx)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Tx) and (self.tx is other.tx or self.tx == other.tx)

    def __repr__(self) -> str:
        return f"<optax {type(self.given).__name__}>"


def _with_extra_args(tx: Any) -> optax.GradientTransformationExtraArgs:
    import optax

    if isinstance(tx, optax.MultiSteps):
        # MultiSteps.gradient_transformation() would drop the extra args its inner
        # transformation may need; its own update forwards them.
        return optax.GradientTransformationExtraArgs(tx.init, tx.update)
    if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
        raise TypeError(
            f"from_optax expects an optax GradientTransformation (or optax.MultiSteps), "
            f"got {type(tx).__name__}"
        )
    return optax.with_extra_args_support(tx)


class OptaxOptimizer(Optimizer):
    r"""An optax transformation run as a flarejax ``Optimizer``: see :func:`from_optax`.

    .. math::

        (u_t, s_t) = \mathrm{tx.update}(g_t, s_{t-1}, \theta_{t-1}), \qquad
        \theta_t = \theta_{t-1} + u_t

    The optax state :math:`s_t` is ``opt.opt_state``, a child of this PyTree.

    Parameters
    ----------
    tx : optax.GradientTransformation or optax.MultiSteps
        Any optax transformation (``chain``, ``inject_hyperparams``,
        ``multi_transform``, ``masked``, ``MultiSteps``, ...).

    References
    ----------
    DeepMind et al., "The DeepMind JAX Ecosystem" (optax), 2020.
    """

    # For load_state_dict: the optax state has the model's structure, not flat keys.
    _state_follows_model = True

    def __init__(self, tx: Any) -> None:
        self._tx = _Tx(tx, _with_extra_args(tx))
        # The optax state lives in a state dict so that ``opt.init(model)`` pre-builds it.
        self.state: dict[str, Any] = {}

    @property
    def tx(self) -> Any:
        """The optax transformation this optimizer runs, as given."""
        return self._tx.given

    @property
    def opt_state(self) -> Any:
        """The optax state (``None`` until the first step or ``init``)."""
        return self.state.get("optax")

    @functional_method(0)
    def __call__(self, model: Any, grads: Any, **extras: Any) -> Any:
        """Apply one step of the optax transformation to ``model``.

        optax sees the model's own structure: its parameters (inexact array
        leaves) as ``params``, ``None`` at every other leaf. A parameter whose
        gradient is ``None`` is left unchanged, but optax sees a zero gradient for
        it (its optax state moves as under a zero gradient); to freeze parameters
        without touching their state, use ``optax.masked`` or
        ``optax.multi_transform`` with ``optax.set_to_zero()``. ``loss=`` reaches
        optax as ``value=`` (``polyak_sgd``, ``reduce_on_plateau``, line
        searches) and ``loss_fn=`` (a function of the model) as ``value_fn=``
        (``optax.lbfgs``); other keyword arguments are passed to ``tx.update``
        as given.
        """
        keys, leaves, treedef = flat_keys(model)
        grad_leaves = match_grads(keys, leaves, grads)
        params = {k: x for k, x in zip(keys, leaves) if is_param(x)}
        self._check_same_params(params)
        self._check_specs(params)
        p_tree = tree_unflatten(treedef, [x if is_param(x) else None for x in leaves])
        g_tree = tree_unflatten(
            treedef,
            [
                (jnp.zeros_like(x) if is_no_grad(g) else g) if is_param(x) else None
                for x, g in zip(leaves, grad_leaves)
            ],
        )
        tx = self._tx.tx
        if "optax" not in self.state:
            self.state["optax"] = tx.init(p_tree)
        extras = _to_optax_extras(extras, leaves, treedef)
        if "value_fn" in extras:
            extras.setdefault("grad", g_tree)  # optax's line searches need both
        updates, self.state["optax"] = tx.update(g_tree, self.state["optax"], p_tree, **extras)
        u_leaves = tree_flatten(updates, is_leaf=lambda x: x is None)[0]
        if len(u_leaves) != len(leaves):
            raise ValueError(
                "the optax transformation returned updates with a structure different "
                "from the model's"
            )
        new_leaves = list(leaves)
        for i, (x, g, u) in enumerate(zip(leaves, grad_leaves, u_leaves)):
            if is_param(x) and not is_no_grad(g):
                # As optax.apply_updates computes it, so that results match bit for bit.
                new_leaves[i] = keep_type(jnp.asarray(x + u), x)
        return tree_unflatten(treedef, new_leaves)

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters of every ``optax.inject_hyperparams`` in the state, by path.

        ``learning_rate`` for ``from_optax(optax.inject_hyperparams(optax.adam)(...))``,
        ``"1.learning_rate"`` for one inside ``optax.chain(..., inject, ...)``.
        Before the state is built, the values are those it will start from.
        Each can be assigned, ``opt.learning_rate = 1e-4`` (``setattr(opt,
        "1.learning_rate", 1e-4)``), once the state is built.
        """
        out: dict[str, Any] = {}
        for prefix, injected in _injected(self._state_or_fresh()):
            out.update({prefix + k: v for k, v in injected.hyperparams.items()})
        return out

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: an injected hyperparameter by name.
        if not name.startswith("_") and "state" in self.__dict__:
            found = self.hyperparameters()
            if name in found:
                return found[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name.startswith("_")
            or name in self.__dict__
            or hasattr(type(self), name)
            or "state" not in self.__dict__
            or name not in self.hyperparameters()
        ):
            super().__setattr__(name, value)
        else:
            self._set_injected(name, value)

    def _state_or_fresh(self) -> Any:
        """The optax state; before it is built, a fresh one for no parameters (or None)."""
        if self.opt_state is not None:
            return self.opt_state
        try:
            return self._tx.tx.init({})
        except Exception:  # a transformation that needs the real parameters
            return None

    def _set_injected(self, name: str, value: Any) -> None:
        """Write ``value`` into the optax state, as the leaf it replaces (no recompile)."""
        if self.opt_state is None:
            raise AttributeError(
                f"{name} lives in the optax state, which is built on the first step: "
                f"call opt.init(model) before setting opt.{name}"
            )

        def replace(path: Any, leaf: Any) -> Any:
            if not _is_injected(leaf):
                return leaf
            prefix = key_of(path) + "." if path else ""
            key = name.removeprefix(prefix) if name.startswith(prefix) else None
            if key not in leaf.hyperparams:
                return leaf
            if key in getattr(leaf, "hyperparams_states", {}):
                raise ValueError(
                    f"{name} follows a schedule inside the optax transformation, which "
                    "would overwrite it at the next step; give inject_hyperparams a "
                    "number for it to set it by hand"
                )
            new = _as_leaf_like(name, value, leaf.hyperparams[key])
            return leaf._replace(hyperparams={**leaf.hyperparams, key: new})

        self.state["optax"] = tree_map_with_path(replace, self.opt_state, is_leaf=_is_injected)

    def _check_same_params(self, params: dict[str, Any]) -> None:
        specs = self.__dict__.get("_specs")
        if "optax" not in self.state or specs is None:
            return
        missing = sorted(specs.items.keys() - params.keys())
        new = sorted(params.keys() - specs.items.keys())
        if missing or new:
            raise ValueError(
                "the model's parameters differ from those the optax state was built for "
                f"(missing {missing}, new {new}); an optax state follows the model's "
                "structure: create a new optimizer for the changed model"
            )


def _injected(state: Any) -> list[tuple[str, Any]]:
    """Every ``inject_hyperparams`` state in ``state``, with its path as a key prefix."""
    found = tree_flatten_with_path(state, is_leaf=_is_injected)[0]
    return [(key_of(path) + "." if path else "", x) for path, x in found if _is_injected(x)]


def _as_leaf_like(name: str, value: Any, old: Any) -> Any:
    """``value`` with the shape, dtype and weak type of ``old``; a clear error otherwise."""
    if value is None or isinstance(value, (str, bytes)) or callable(value):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if np.shape(value) != np.shape(old):
        raise ValueError(
            f"{name} must have shape {np.shape(old)} like the value it replaces, "
            f"got shape {np.shape(value)}"
        )
    return keep_type(jnp.asarray(value, old.dtype), old)


def _to_optax_extras(extras: dict[str, Any], leaves: list[Any], treedef: Any) -> dict[str, Any]:
    """A flarejax step's ``loss=`` and ``loss_fn=`` as optax's ``value=`` and ``value_fn=``.

    optax's ``value_fn`` takes the tree optax sees (``None`` at non-parameters);
    ``loss_fn`` takes the model, so the non-parameters are put back.
    """
    out = {k: v for k, v in extras.items() if k not in ("loss", "loss_fn")}
    if "loss" in extras:
        out.setdefault("value", extras["loss"])
    loss_fn = extras.get("loss_fn")
    if loss_fn is not None and "value_fn" not in out:

        def value_fn(p_tree: Any) -> Any:
            given = treedef.flatten_up_to(p_tree)
            return loss_fn(
                tree_unflatten(treedef, [p if is_param(x) else x for p, x in zip(given, leaves)])
            )

        out["value_fn"] = value_fn
    return out


def _is_injected(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "hyperparams") and isinstance(x.hyperparams, dict)


def from_optax(tx: Any) -> OptaxOptimizer:
    """Any optax transformation as a flarejax ``Optimizer``.

    ``opt = from_optax(optax.adamw(1e-3))`` then ``model = opt(model, grads)``,
    eagerly or under ``jax.jit``, like every flarejax optimizer. The optax state
    is built on the first step from the model's parameters, or ahead of time by
    ``opt.init(model)``. optax updates are added to the parameters (flarejax
    hooks return updates that are subtracted; the sign is handled here). See
    :class:`OptaxOptimizer` for how ``None`` gradients and extra arguments
    (``loss=`` becomes optax's ``value=``) are handled.
    """
    return OptaxOptimizer(tx)


def _copy(tree: Any) -> Any:
    """A copy with its own buffers: an eager flarejax step donates its optimizer's arrays."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [_own(x) for x in leaves])


def _own(x: Any) -> Any:
    if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer) and x.ndim > 0:
        return jnp.array(x, copy=True)
    return x


def _negated_updates(self: Optimizer, params: Any, grads: Any, **extras: Any) -> Any:
    """The updates optax adds: minus the updates the optimizer's hooks subtract."""
    keys, leaves, treedef = flat_keys(params)
    grad_leaves = match_grads(keys, leaves, grads)
    out: dict[str, Any] = {}
    if steps_through_call(self):
        new_leaves = treedef.flatten_up_to(self(params, grads, **extras))
        for key, x, g, new in zip(keys, leaves, grad_leaves, new_leaves):
            if is_param(x) and not is_no_grad(g):
                out[key] = new - x
    else:
        updates = model_updates(self, params, grads, extras)[3]
        out = {key: -u for key, u in updates.items() if u is not None}
    result = []
    for key, x, g in zip(keys, leaves, grad_leaves):
        if g is None or is_no_grad(g) or not is_param(x):
            result.append(g)
        else:
            # optax's convention: updates in the gradient's dtype. The hooks may
            # compute in a wider one (a float32 bias correction from the uint32
            # step count); the native step narrows at the subtraction instead.
            u = out[key] if key in out else jnp.zeros_like(g)
            result.append(jnp.asarray(u).astype(g.dtype))
    return tree_unflatten(treedef, result)


_negated_updates_step = functional_method(0)(_negated_updates)


def _check_not_placeholder(params: Any, template: Optimizer) -> None:
    """``optax.tree.map_params`` calls ``init`` on a placeholder: say why that cannot work."""
    if type(params).__name__ == "_ParamsPlaceholder" and "optax" in type(params).__module__:
        name = type(template).__name__
        raise TypeError(
            f"optax.tree.map_params cannot map the state of to_optax({name}): that state "
            "is the optimizer, whose per-parameter state lives in flat dicts keyed by the "
            "parameters' dotted keys (and whose treedef records their shapes), not in "
            "trees shaped like the parameters. It is built sharded like the parameters: "
            "jax.jit(tx.init)(params); for its shardings without building it, "
            "jax.jit(tx.init).lower(params).compile().output_shardings"
        )


def _zero_loss(model: Any) -> jax.Array:
    return jnp.zeros((), jnp.float32)


# optax's names for the extra arguments of ``update`` -> flarejax's.
_OPTAX_EXTRAS = {"value": "loss", "value_fn": "loss_fn"}


def _from_optax_extras(extra: dict[str, Any]) -> dict[str, Any]:
    """optax's extra arguments of ``update`` as a flarejax step takes them.

    ``value=`` and ``value_fn=`` become ``loss=`` and ``loss_fn=`` (a flarejax
    name given too wins). ``grad=`` (optax line searches pass the gradient) is
    dropped: the hooks receive the gradients already, as their own ``grad``.
    """
    out = {k: v for k, v in extra.items() if k not in _OPTAX_EXTRAS and k != "grad"}
    for optax_name, name in _OPTAX_EXTRAS.items():
        if optax_name in extra:
            out.setdefault(name, extra[optax_name])
    return out


def _keep_signature(new: Optimizer, old: Optimizer) -> Optimizer:
    """``new`` with the dtypes, weak types and shardings of ``old``, leaf by leaf.

    optax states keep their type from ``init`` to every ``update`` (``lax.cond``
    and ``lax.scan`` over them require it). ``init`` sees only the parameters,
    so it builds the state in their dtype; gradients of another dtype (bfloat16
    for float32 parameters) would otherwise change the dtype of the state
    entries a step overwrites from them. Casting back loses nothing that the
    state built by ``init`` could hold.
    """
    new_leaves, treedef = tree_flatten(new)
    old_leaves = jax.tree_util.tree_leaves(old)
    if not same_structure(new, old):
        return new  # a structure change cannot be cast away (init is incomplete)
    return tree_unflatten(treedef, [_like(x, y) for x, y in zip(new_leaves, old_leaves)])


def _like(x: Any, like: Any) -> Any:
    x = cast_like(x, like)
    if (
        isinstance(x, jax.Array)
        and isinstance(like, jax.Array)
        and not isinstance(x, jax.core.Tracer)
        and not isinstance(like, jax.core.Tracer)
        and x.sharding != like.sharding
    ):
        x = jax.device_put(x, like.sharding)
    return x


def to_optax(opt: Optimizer) -> optax.GradientTransformationExtraArgs:
    """Any flarejax ``Optimizer`` as an optax ``GradientTransformationExtraArgs``.

    ``init(params)`` returns a copy of ``opt`` with its state pre-built for
    ``params`` (as ``opt.init(params)``); ``opt`` itself is never modified. The
    optax state *is* that optimizer, a PyTree. ``update(updates, state, params,
    **extra)`` runs one step on a copy of ``state`` and returns the updates to
    add (minus those flarejax subtracts) and the advanced optimizer. ``params``
    is required (flarejax hooks receive the parameters).

    optax's extra arguments are accepted: ``value=`` reaches the hooks as
    ``loss=``, ``value_fn=`` as ``loss_fn=`` (a function of ``params``, as
    ``LBFGS`` takes it), and ``grad=`` is dropped (the hooks have the
    gradients); other extra arguments reach the hooks as given (hooks that
    declare ``**_`` ignore them, so it works inside ``optax.chain``).

    Dtypes follow optax: the updates come back in the gradients' dtype, and the
    state keeps the shapes, dtypes, weak types and shardings ``init`` gave it at
    every ``update`` (``lax.cond``/``lax.scan`` over it work).

    The state is the optimizer, not a NamedTuple: ``optax.tree.get(state,
    "mu")`` finds nothing (read ``state.m``), and ``optax.tree.map_params``
    cannot map it (its per-parameter state is in flat dicts keyed by the
    parameters' dotted keys, not in trees shaped like the parameters); see the
    "From optax" guide for the equivalents.
    """
    import optax

    if not isinstance(opt, Optimizer):
        raise TypeError(f"to_optax expects a flarejax Optimizer, got {type(opt).__name__}")
    template = _copy(opt)

    def init_fn(params: Any) -> Optimizer:
        _check_not_placeholder(params, template)
        state = _copy(template)
        try:
            state.init(params)
        except (TypeError, ValueError):
            # optax's init gets no extra args; an optimizer whose hooks require
            # ``loss=`` (or, for a line search, ``loss_fn=``) is pre-built with
            # stand-ins (the update itself never runs).
            state = _copy(template)
            state.init(params, loss=jnp.zeros((), jnp.float32), loss_fn=_zero_loss)
        return state

    def update_fn(
        updates: Any, state: Optimizer, params: Any = None, **extra: Any
    ) -> tuple[Any, Optimizer]:
        if params is None:
            raise ValueError(
                f"the optax transformation made from {type(template).__name__} needs "
                "params: call tx.update(updates, state, params)"
            )
        if not isinstance(state, Optimizer):
            raise TypeError(
                f"the state of to_optax({type(template).__name__}) must be the "
                f"optimizer returned by init, got {type(state).__name__}"
            )
        extra = _from_optax_extras(extra)
        new = _copy(state)
        out = _negated_updates_step(new, params, updates, **extra)
        return out, _keep_signature(new, state)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
