"""Adaptive gradient clipping: bound each unit's update relative to its parameter's norm."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative, check_positive
from .._optimizers._complex import abs_sq

__all__ = ["AdaptiveGradClip"]


def _unitwise_norm(x: jax.Array, axis: int | tuple[int, ...] | None) -> jax.Array:
    # Default units follow layer conventions: a vector is one unit, the columns
    # of an (in, out) kernel and the output channels of an HWIO conv are units.
    sq = abs_sq(x)
    if axis is not None:
        norm = jnp.sum(sq, axis=axis, keepdims=True)
    elif jnp.squeeze(x).ndim <= 1:
        norm = jnp.sum(sq, keepdims=True)
    elif x.ndim in (2, 3):
        norm = jnp.sum(sq, axis=0, keepdims=True)
    elif x.ndim in (4, 5):
        norm = jnp.sum(sq, axis=tuple(range(x.ndim - 1)), keepdims=True)
    else:
        raise ValueError(
            f"AdaptiveGradClip: no default units for a parameter of shape {x.shape}; "
            "pass axis= to name the axes to reduce over"
        )
    return jnp.broadcast_to(jnp.sqrt(norm), x.shape)


class AdaptiveGradClip(Optimizer):
    r"""Adaptive gradient clipping (AGC), unit by unit.

    .. math::

        u_i = \begin{cases} g_i & \|g_i\| < \lambda \max(\|\theta_i\|, \epsilon) \\
        g_i\, \lambda \max(\|\theta_i\|, \epsilon) / \max(\|g_i\|, 10^{-6}) & \text{otherwise}
        \end{cases}

    where :math:`i` runs over units (the whole of a vector, the columns of a
    2D kernel, the output channels of a conv kernel). Equal to
    ``optax.adaptive_grad_clip``; torch has no built-in equivalent. After a
    step, ``opt.ratio[key]`` is the largest :math:`\|g_i\| / (\lambda
    \max(\|\theta_i\|, \epsilon))` over the parameter's units, measured before
    clipping (float32): above 1, some unit was clipped.

    Parameters
    ----------
    clipping : float
        The largest ratio :math:`\lambda` of a unit's update norm to its parameter norm.
    eps : float
        :math:`\epsilon`, the norm below which a parameter counts as :math:`\epsilon`
        (so that zero-initialized parameters can move).
    axis : int or tuple of int, optional
        The axes a unit's norm is taken over, instead of the defaults above.

    References
    ----------
    Brock et al., "High-Performance Large-Scale Image Recognition Without
    Normalization", ICML 2021.
    """

    def __init__(
        self, clipping: float, eps: float = 1e-3, axis: int | tuple[int, ...] | None = None
    ) -> None:
        check_positive("clipping", clipping)
        check_nonnegative("eps", eps)
        self.clipping = clipping
        self.eps = eps
        self.axis = axis
        self.ratio: dict[str, jax.Array] = {}

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        g_norm = _unitwise_norm(grad, self.axis)
        max_norm = self.clipping * jnp.maximum(_unitwise_norm(param, self.axis), self.eps)
        self.ratio[key] = jnp.max(g_norm / max_norm).astype(jnp.float32)
        clipped = grad * (max_norm / jnp.maximum(g_norm, 1e-6))
        return jnp.where(g_norm < max_norm, grad, clipped)
