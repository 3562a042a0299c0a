"""One optimizer step over flat dicts of gradients and parameters: the composition primitive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax

from .._tree import ARRAY_TYPES
from .per_step import step_scope

if TYPE_CHECKING:
    from .base import Optimizer

__all__ = [
    "RESERVED_EXTRAS",
    "check_extras",
    "check_same_keys",
    "check_update",
    "hook_updates",
    "steps_through_call",
    "substep",
    "updates_through_call",
]

# The hooks' own parameter names: an extra keyword argument of a step under one
# of them would reach ``call_model``/``call_param`` twice.
RESERVED_EXTRAS = ("grad", "grads", "key", "param", "params")


def substep(
    opt: Optimizer,
    grads: dict[str, jax.Array],
    params: dict[str, jax.Array],
    extras: dict[str, Any],
) -> dict[str, jax.Array | None]:
    """The updates ``opt`` proposes for ``grads``, by key, advancing its state.

    ``opt.updates(grads, params, extras)``, once the extras are checked: what
    ``opt(model, grads)`` subtracts. The base ``__call__``, the combinators
    (``Chain``, ``Partition``), the wrappers and ``to_optax`` all step an
    optimizer through it, so a member's update becomes the next member's
    gradient. ``None`` in the result means "no update for this parameter".
    """
    check_extras(extras)
    return opt.updates(grads, params, extras)


def hook_updates(
    opt: Optimizer,
    grads: dict[str, jax.Array],
    params: dict[str, jax.Array],
    extras: dict[str, Any],
) -> dict[str, jax.Array | None]:
    """``Optimizer.updates`` by default: ``call_model`` once, then ``call_param``.

    ``call_param`` runs for every key whose gradient ``call_model`` did not turn
    into ``None``.
    """
    with step_scope():  # scalars every parameter uses are computed once
        out = opt.call_model(grads, params=params, **extras)
        check_same_keys(out, grads)
        updates: dict[str, jax.Array | None] = {}
        for key in grads:
            update = None
            if out[key] is not None:
                update = opt.call_param(key, out[key], param=params[key], **extras)
            if update is not None:
                check_update(key, params[key], update)
            updates[key] = update
    return updates


def updates_through_call(
    opt: Optimizer,
    grads: dict[str, jax.Array],
    params: dict[str, jax.Array],
    extras: dict[str, Any],
) -> dict[str, jax.Array | None]:
    """``updates`` of a class that overrides ``__call__`` but not ``updates``.

    Installed by ``Optimizer.__init_subclass__``: the optimizer steps the flat
    dicts as a model (``from_optax(...)``, ``LBFGS``), and its update is the
    parameter minus its result. The base ``__call__``, reached from such an
    override by ``super().__call__``, runs the hooks instead (see
    :func:`steps_through_call`).
    """
    new = opt(params, grads, **extras)
    return {key: params[key] - new[key] for key in grads}


def steps_through_call(opt: Any) -> bool:
    """Whether ``opt``'s updates come from its own ``__call__`` (see above)."""
    return type(opt).updates is updates_through_call


def check_extras(extras: dict[str, Any]) -> None:
    """Extras reach the hooks under their own names, so the hooks' names are reserved.

    One rule for every step, native or bridged: ``opt(model, grads, grad=g)``
    would otherwise fail deep inside a hook with "got multiple values for
    argument 'grad'". (``to_optax`` drops optax's ``grad=``: the hooks have the
    gradients already.)
    """
    for name in RESERVED_EXTRAS:
        if name in extras:
            raise TypeError(
                f"the extra argument {name}= of an optimizer step is reserved: "
                f"{', '.join(RESERVED_EXTRAS)} name the hooks' own parameters "
                f"(call_model(grads, *, params), call_param(key, grad, *, param)); "
                f"pass it under another name (e.g. my_{name}=)"
            )


def check_same_keys(out: Any, grads: dict[str, Any]) -> None:
    if not isinstance(out, dict):
        raise TypeError(
            f"call_model must return a dict of gradients keyed like its input, "
            f"got {type(out).__name__}"
        )
    if out.keys() != grads.keys():
        missing = sorted(grads.keys() - out.keys())
        extra = sorted(out.keys() - grads.keys())
        raise ValueError(
            "call_model must return the same keys it received; "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {extra}" if extra else "")
        )


def check_update(key: str, param: jax.Array, update: Any) -> None:
    if not isinstance(update, ARRAY_TYPES):
        raise TypeError(
            f"call_param for {key!r} must return an array or None, got {type(update).__name__}"
        )
    if update.shape != param.shape:
        raise ValueError(
            f"call_param for {key!r} returned an update of shape {tuple(update.shape)}, "
            f"expected the parameter's shape {tuple(param.shape)}"
        )
