"""Normalizing the updates by their global norm."""

from __future__ import annotations

from typing import Any

import jax

from .._base import Optimizer
from .._checks import check_nonnegative, check_positive
from .._optimizers._complex import sum_abs_sq

__all__ = ["NormalizeByUpdateNorm"]


class NormalizeByUpdateNorm(Optimizer):
    r"""Divide all the updates by their global norm, so that together they have norm :math:`s`.

    .. math::

        \|g\| = \Big(\sum_{p} \|g_p\|_2^2\Big)^{1/2}, \qquad
        u_p = s\, g_p / (\|g\| + \epsilon)

    Normalized gradient descent: ``Chain(NormalizeByUpdateNorm(), SGD(lr))``
    moves the parameters by :math:`\eta` (the learning rate) whatever the
    gradient's size. Equal to ``optax.normalize_by_update_norm``, whose
    ``scale_factor`` is negative where it ends a descent chain (flarejax
    subtracts the update: keep :math:`s > 0`, and use ``Scale(-1.0)`` for
    ascent); torch has no built-in equivalent.

    Parameters
    ----------
    scale_factor : float
        :math:`s`, the global norm of the result.
    eps : float
        :math:`\epsilon`, added to the norm (a zero gradient stays zero).
    """

    def __init__(self, scale_factor: float = 1.0, eps: float = 1e-6) -> None:
        check_positive("scale_factor", scale_factor)
        check_nonnegative("eps", eps)
        self.scale_factor = scale_factor
        self.eps = eps

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        # Summed leaf by leaf in the model's order, as optax.tree.norm does.
        total = jax.numpy.sqrt(sum((sum_abs_sq(g) for g in grads.values()), 0))
        denom = (total + self.eps) / self.scale_factor
        return {k: g / denom.astype(g.dtype) for k, g in grads.items()}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
