"""The leading batch axis of per-example gradients (DP-SGD and its clipping transforms)."""

from __future__ import annotations

from typing import Any

import jax

__all__ = ["batch_size"]


def batch_size(owner: Any, grads: dict[str, jax.Array], params: dict[str, jax.Array]) -> int:
    """The common leading axis of ``grads`` over their parameters' shapes, or a clear error.

    The base step checks the shapes of the gradients it is given; this checks
    them again where they reach ``owner``, which sees the updates of the members
    before it in a ``Chain``.
    """
    sizes = set()
    for key, g in grads.items():
        p = params[key]
        if g.ndim != p.ndim + 1 or g.shape[1:] != p.shape:
            raise ValueError(
                f"{type(owner).__name__} takes per-example gradients, with a leading batch "
                f"axis: parameter {key!r} has shape {tuple(p.shape)}, so its gradient must "
                f"have shape (batch, *{tuple(p.shape)}), got {tuple(g.shape)}. Compute them "
                "with jax.vmap(jax.grad(loss), in_axes=(None, 0))"
            )
        sizes.add(g.shape[0])
    if len(sizes) > 1:
        raise ValueError(
            f"{type(owner).__name__}'s per-example gradients must share one batch size, got "
            f"sizes {sorted(sizes)} (leading axes of {list(grads)}); every gradient needs the "
            "same leading batch axis"
        )
    return sizes.pop() if sizes else 0
