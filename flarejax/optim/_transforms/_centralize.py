"""Gradient centralization."""

from __future__ import annotations

from typing import Any

import jax

from .._base import Optimizer

__all__ = ["Centralize"]


class Centralize(Optimizer):
    r"""Subtract from each gradient its mean over all axes but the first.

    .. math::

        u_{i\ldots} = g_{i\ldots} - \operatorname{mean}_{\ldots}\, g_{i\ldots}
        \quad (\text{vectors and scalars pass unchanged})

    Equal to ``optax.centralize``; torch has no built-in equivalent.

    References
    ----------
    Yong et al., "Gradient Centralization: A New Optimization Technique for
    Deep Neural Networks", ECCV 2020.
    """

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if grad.ndim <= 1:
            return grad
        return grad - grad.mean(tuple(range(1, grad.ndim)), keepdims=True)
