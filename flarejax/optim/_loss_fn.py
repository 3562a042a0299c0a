"""The function of the model that loss-aware optimizers evaluate (``loss_fn=``).

Sophia, SAM and LBFGS take ``loss_fn(model) -> loss`` as well as the
gradients; their hooks see it as ``value_fn``, a function of the parameters by
path, and their ``minimize`` passes it along with the gradients it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_flatten, tree_unflatten

from .._tree import flat_keys, is_param

__all__ = ["minimize_with_loss_fn", "of_params", "one_of", "zero_loss"]


def one_of(loss_fn: Any, alias: Any, message: str) -> Any:
    """``loss_fn=`` or its alias (optax's name); ``TypeError(message)`` when both differ."""
    if loss_fn is not None and alias is not None and loss_fn is not alias:
        raise TypeError(message)
    return alias if loss_fn is None else loss_fn


def of_params(loss_fn: Callable[[Any], Any], model: Any) -> Callable[[dict[str, Any]], Any]:
    """``loss_fn`` as a function of the parameters by path, the rest of ``model`` held."""
    keys, leaves, treedef = flat_keys(model)

    def of_flat(params: dict[str, Any]) -> Any:
        return loss_fn(tree_unflatten(treedef, [params.get(k, x) for k, x in zip(keys, leaves)]))

    return of_flat


def minimize_with_loss_fn(
    opt: Any,
    loss_fn: Callable[..., Any],
    model: Any,
    args: tuple[Any, ...],
    has_aux: bool,
    extras: dict[str, Any],
) -> tuple[Any, Any, Callable[[Any], Any]]:
    """One step of ``opt`` on ``loss_fn(model, *args)``, with ``loss=`` and ``loss_fn=``.

    Returns the new model, the value of ``loss_fn`` at ``model`` (``(loss, aux)``
    with ``has_aux``) and the loss as a function of the model alone.
    """
    leaves, treedef = tree_flatten(model)
    mask = [is_param(x) for x in leaves]

    def loss_of(params: list[Any]) -> Any:
        full = [p if m else x for p, m, x in zip(params, mask, leaves)]
        return loss_fn(tree_unflatten(treedef, full), *args)

    def value_of(m: Any) -> Any:
        out = loss_fn(m, *args)
        return out[0] if has_aux else out

    params = [x if m else None for x, m in zip(leaves, mask)]
    value, grads = jax.value_and_grad(loss_of, has_aux=has_aux)(params)
    loss = value[0] if has_aux else value
    model = opt(model, tree_unflatten(treedef, grads), loss=loss, loss_fn=value_of, **extras)
    return model, value, value_of


def zero_loss(model: Any) -> jax.Array:
    """A placeholder ``loss_fn`` for ``init``: the state does not depend on the loss."""
    return jnp.zeros(())
