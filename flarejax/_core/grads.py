"""Matching a gradient tree to the model it belongs to, with errors that name keys."""

from __future__ import annotations

from typing import Any

from .._tree import ARRAY_TYPES, flat_model, is_no_grad, is_param

__all__ = ["match_grads"]


def match_grads(
    keys: list[str],
    leaves: list[Any],
    grads: Any,
    optional: list[bool] | None = None,
    per_example: bool = False,
) -> list[Any]:
    """The gradient of each model leaf, in the model's leaf order.

    ``grads`` must have the model's keys. ``None`` stands for "no gradient" at a
    leaf or for a whole subtree (as ``equinox.filter_grad`` and
    ``jax.grad(..., allow_int=True)`` produce). Gradients held by nnx
    ``Variable`` objects (the ``State`` that ``nnx.grad`` returns) may leave out
    any leaf, which then gets none: ``nnx.grad`` differentiates the
    ``nnx.Param`` variables only, and a filtered state holds what it selects.
    So may any leaf marked ``optional`` (those of an nnx model's Variables, for
    gradients given as a pure dict). ``per_example``: each gradient has a
    leading batch axis before the parameter's shape.
    """
    if grads is None and any(is_param(x) for x in leaves):
        # Would be "no gradient anywhere": a step that only advances the counters.
        raise TypeError(
            "grads is None: pass the gradients, a tree with the model's structure "
            "(e.g. jax.grad(loss_fn)(model)); to skip a step, do not call the optimizer"
        )
    g_keys, g_leaves, _, owners, _ = flat_model(grads, is_leaf=lambda x: x is None)
    by_key = dict(zip(g_keys, g_leaves))
    filtered = any(o is not None for o in owners)
    none_prefixes = [k for k, g in by_key.items() if g is None]
    out = []
    optional = optional or [False] * len(keys)
    for key, leaf, opt in zip(keys, leaves, optional):
        if key in by_key:
            grad = by_key.pop(key)
        elif filtered or opt or any(_covers(prefix, key) for prefix in none_prefixes):
            grad = None
        elif any(k.startswith(key + ".") for k in by_key):
            inner = [k for k in by_key if k.startswith(key + ".")]
            raise TypeError(
                f"the gradient for {key!r} must be an array, got a subtree with leaves {inner[:3]}"
            )
        else:
            raise ValueError(
                f"grads has no entry for the model's leaf {key!r}; grads must have "
                f"the model's structure (None where there is no gradient)"
            )
        if is_param(leaf) and not is_no_grad(grad):
            _check_grad(key, leaf, grad, per_example)
        out.append(grad)
    extra = [k for k, g in by_key.items() if g is not None]
    if extra:
        raise ValueError(
            f"grads has a leaf at {extra[0]!r}, which is not a leaf of the model; "
            f"grads must have the model's structure"
        )
    return out


def _covers(prefix: str, key: str) -> bool:
    return prefix == "" or key == prefix or key.startswith(prefix + ".")


def _check_grad(key: str, param: Any, grad: Any, per_example: bool = False) -> None:
    if not isinstance(grad, ARRAY_TYPES):
        raise TypeError(f"the gradient for {key!r} must be an array, got {type(grad).__name__}")
    if not is_param(grad):
        raise TypeError(
            f"the gradient for {key!r} has dtype {grad.dtype}, expected a floating "
            f"dtype like the parameter's {param.dtype}"
        )
    if per_example:
        if tuple(grad.shape[1:]) != tuple(param.shape) or grad.ndim != param.ndim + 1:
            raise ValueError(
                f"the per-example gradient for {key!r} has shape {tuple(grad.shape)}, "
                f"expected (batch, *{tuple(param.shape)}): a leading batch axis before "
                "the parameter's shape, as jax.vmap(jax.grad(loss), in_axes=(None, 0)) gives"
            )
    elif tuple(grad.shape) != tuple(param.shape):
        raise ValueError(
            f"the gradient for {key!r} has shape {tuple(grad.shape)}, expected the "
            f"parameter's shape {tuple(param.shape)}"
        )
