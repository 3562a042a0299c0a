"""NAdamW: NAdam with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax

from .._patterns import Pattern
from ._decay import DecoupledDecay
from ._nadam import NAdam

__all__ = ["NAdamW"]


class NAdamW(NAdam, DecoupledDecay):
    r"""NAdam with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big(\hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}}
        + \varepsilon) + \lambda\, \theta_{t-1}\big)

    with the Nesterov :math:`\hat m_t` and :math:`\hat v_t` of :class:`NAdam`.
    Equal to ``optax.nadamw``; ``torch.optim.NAdam(decoupled_weight_decay=True)``
    differs as :class:`NAdam` does.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`NAdam`.
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
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        weight_decay: float = 1e-4,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.decay(key, self.direction(key, grad), param)
        return self.current(self.learning_rate) * update
