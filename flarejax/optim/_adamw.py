"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax

from ._adam import Adam
from ._checks import check_nonnegative

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Adam with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big(\hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}}
        + \varepsilon) + \lambda\, \theta_{t-1}\big)

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam`. The decay uses the
    parameter, not the gradient, and is scaled by the learning rate, as in
    ``optax.adamw`` (equal to it) and ``torch.optim.AdamW``.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype
        As in :class:`Adam`.
    weight_decay : float
        The decay rate :math:`\lambda`.

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
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype)
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        lr = self.current(self.learning_rate)
        return lr * (self.direction(key, grad) + self.weight_decay * param)
