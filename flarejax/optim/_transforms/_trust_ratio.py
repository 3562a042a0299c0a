"""Scaling each parameter's update by its trust ratio (the LARS, LAMB and Fromage rescaling)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._optimizers._complex import norm

__all__ = ["ScaleByTrustRatio", "floored_norm"]


def floored_norm(x: jax.Array, floor: float) -> jax.Array:
    """:math:`\\max(\\|x\\|_2, f)`, real for complex ``x``, as ``optax.safe_norm``."""
    n = norm(x)
    return jnp.where(n <= floor, jnp.asarray(floor, n.dtype), n)


class ScaleByTrustRatio(Optimizer):
    r"""Multiply each parameter's update by the ratio of the parameter's norm to the update's.

    .. math::

        r_p = c\, \frac{\max(\|\theta_p\|_2, n_0)}{\max(\|u_p\|_2, n_0) + \epsilon}, \qquad
        u_p \leftarrow r_p\, u_p

    with :math:`r_p = 1` where either norm is zero (a zero-initialised bias, a
    vanishing update), so that such a parameter still moves. The rescaling of
    LARS, LAMB and Fromage on its own: ``Chain(Adam(1.0), ScaleByTrustRatio(),
    Scale(lr))`` is LAMB without weight decay. Equal to
    ``optax.scale_by_trust_ratio``; torch has no built-in equivalent.

    Parameters
    ----------
    min_norm : float
        :math:`n_0`, the floor of both norms (0: no floor).
    trust_coefficient : float
        :math:`c`, a multiplier of the ratio.
    eps : float
        :math:`\epsilon`, added to the update's norm.

    References
    ----------
    You et al., "Large Batch Training of Convolutional Networks", 2017 (LARS).
    """

    def __init__(
        self, min_norm: float = 0.0, trust_coefficient: float = 1.0, eps: float = 0.0
    ) -> None:
        check_nonnegative("min_norm", min_norm)
        check_nonnegative("trust_coefficient", trust_coefficient)
        check_nonnegative("eps", eps)
        self.min_norm = min_norm
        self.trust_coefficient = trust_coefficient
        self.eps = eps

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        param_norm = floored_norm(param, self.min_norm)
        update_norm = floored_norm(grad, self.min_norm)
        ratio = self.trust_coefficient * param_norm / (update_norm + self.eps)
        zero = (param_norm == 0) | (update_norm == 0)
        ratio = jnp.where(zero, jnp.ones((), ratio.dtype), ratio)
        return grad * ratio.astype(jnp.real(grad).dtype)
