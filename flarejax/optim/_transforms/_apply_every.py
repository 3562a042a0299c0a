"""Accumulating the updates of k calls and passing them on at every k-th call."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._core.checks import check_steps
from .._base import Optimizer

__all__ = ["ApplyEvery"]


class ApplyEvery(Optimizer):
    r"""Sum the gradients of :math:`k` calls; pass the sum on at every :math:`k`-th call, else zero.

    .. math::

        a_t = \begin{cases} g_t & t \equiv 0 \pmod k \\ a_{t-1} + g_t & \text{otherwise}
        \end{cases}, \qquad
        u_t = \begin{cases} a_t & t \equiv k - 1 \pmod k \\ 0 & \text{otherwise} \end{cases}

    The members after it in a :class:`Chain` still step at every call (on zero
    updates, which moves momentum and counters); to step an optimizer on the
    accumulated gradients only, wrap it in :class:`MultiSteps` instead. The
    sum, not the mean: divide the loss or the learning rate by :math:`k` for
    the gradient of the combined batch. ``count`` is :math:`t \bmod k`. Equal to
    ``optax.apply_every``; in torch, ``optimizer.step()`` every k backward passes
    without zeroing the gradients in between.

    Parameters
    ----------
    k : int
        :math:`k`, the calls per emitted update (1: every call).
    """

    def __init__(self, k: int = 1) -> None:
        self.k = check_steps("k", k, minimum=1)
        self.count = jnp.zeros((), jnp.int32)
        self.grad_acc: dict[str, jax.Array] = {}

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        fresh = self.count == 0
        emit = self.count == self.k - 1
        out = {}
        for key, g in grads.items():
            prev = self.grad_acc.get(key, jnp.zeros_like(g))
            acc = jnp.where(fresh, g, prev + g).astype(g.dtype)
            self.grad_acc[key] = acc
            out[key] = jnp.where(emit, acc, jnp.zeros_like(acc))
        self.count = (self.count + 1) % self.k
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
