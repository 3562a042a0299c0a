"""LAMB: Adam with a layer-wise trust ratio."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._patterns import Pattern
from ._adam import Adam
from ._complex import norm
from ._decay import DecoupledDecay

__all__ = ["LAMB"]


class LAMB(Adam, DecoupledDecay):
    r"""LAMB: Adam with weight decay, rescaled per parameter by a trust ratio.

    .. math::

        u_t &= \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)
            + \lambda\, \theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\lVert \theta_{t-1} \rVert}
            {\lVert u_t \rVert}\, u_t

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` and Frobenius norms per
    parameter; the ratio is 1 when either norm is zero. Each layer then moves by
    :math:`\eta` relative to its own norm, which keeps large-batch training
    stable. Equal to ``optax.lamb``.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, state_dtype
        As in :class:`Adam`.
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`, added to the update
        before the trust ratio (which applies to every parameter).

    References
    ----------
    You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes", ICLR 2020.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-6,
        eps_root: float = 0.0,
        weight_decay: float = 0.0,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, state_dtype=state_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.decay(key, self.direction(key, grad), param)
        param_norm, update_norm = norm(param), norm(update)
        # A zero norm (e.g. a zero-initialized bias) would stop the parameter forever.
        zero = (param_norm == 0) | (update_norm == 0)
        trust_ratio = jnp.where(zero, jnp.ones((), param.dtype), param_norm / update_norm)
        return self.current(self.learning_rate) * (trust_ratio * update)
