"""AdamaxW: Adamax with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax

from .._patterns import Pattern
from ._adamax import Adamax
from ._decay import DecoupledDecay

__all__ = ["AdamaxW"]


class AdamaxW(Adamax, DecoupledDecay):
    r"""Adamax with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\Big(\frac{m_t / (1 - \beta_1^t)}{u_t}
        + \lambda\, \theta_{t-1}\Big)

    with :math:`m_t, u_t` as in :class:`Adamax`. Equal to ``optax.adamaxw``.

    Parameters
    ----------
    learning_rate, b1, b2, eps, mu_dtype, state_dtype
        As in :class:`Adamax`.
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.

    References
    ----------
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 1e-4,
        mask: Pattern | None = None,
        mu_dtype: Any = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype, state_dtype=state_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.decay(key, self.direction(key, grad), param)
        return self.current(self.learning_rate) * update
