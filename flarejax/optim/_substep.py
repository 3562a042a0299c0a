"""Running an optimizer's two hooks over a flat dict of gradients: the composition primitive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax

from .._tree import ARRAY_TYPES

if TYPE_CHECKING:
    from ._base import Optimizer

__all__ = [
    "RESERVED_EXTRAS",
    "check_extras",
    "check_same_keys",
    "check_update",
    "overrides_call",
    "substep",
]

# The hooks' own parameter names: an extra keyword argument of a step under one
# of them would reach ``call_model``/``call_param`` twice.
RESERVED_EXTRAS = ("grad", "grads", "key", "param", "params")


def substep(
    opt: Optimizer,
    grads: dict[str, jax.Array],
    params: dict[str, jax.Array],
    extras: dict[str, Any],
    *,
    through_call: bool = True,
) -> dict[str, jax.Array | None]:
    """The updates ``opt`` proposes for ``grads``, by key, advancing its state.

    Exactly what ``opt(model, grads)`` does before subtracting: ``call_model``
    once, then ``call_param`` for every key whose gradient it did not turn into
    ``None``. ``None`` in the result means "no update for this parameter".
    Combinators (``Chain``, ``Partition``) and wrappers run their members with
    it, so a member's update becomes the next member's gradient. An optimizer
    that overrides ``__call__`` (``from_optax(...)``) is called on the flat
    dicts instead (unless ``through_call`` is false: the base ``__call__``
    itself), and its update is the parameter minus its result.
    """
    check_extras(extras)
    if through_call and overrides_call(opt):
        new = opt(params, grads, **extras)
        return {key: params[key] - new[key] for key in grads}
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


def overrides_call(opt: Optimizer) -> bool:
    from ._base import Optimizer

    return type(opt).__call__ is not Optimizer.__call__


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
