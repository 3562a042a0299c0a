"""Lion: sign of an interpolated momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from .._patterns import Pattern
from ._decay import DecoupledDecay
from ._moments import Counted, ema, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["Lion"]


class Lion(Counted, DecoupledDecay, StateDtype):
    r"""Lion: the sign of an interpolation of the momentum and the gradient.

    .. math::

        u_t &= \operatorname{sign}\big(\beta_1 m_{t-1} + (1 - \beta_1)\, g_t\big) \\
        m_t &= \beta_2 m_{t-1} + (1 - \beta_2)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta\, (u_t + \lambda\, \theta_{t-1})

    Every coordinate moves by exactly :math:`\eta` (before decay), so Lion
    wants a learning rate 3-10x smaller than AdamW's and a larger weight decay.
    Equal to ``optax.lion``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1 : float
        Interpolation rate :math:`\beta_1` of the update.
    b2 : float
        Decay rate :math:`\beta_2` of the momentum.
    mu_dtype : dtype, optional
        The dtype of the momentum's state; ``None``: the gradient's dtype.
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.99,
        mu_dtype: Any = None,
        weight_decay: float = 1e-3,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)
        self.m: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
        update = jnp.sign(ema(self.m[key], grad, self.b1))
        self.m[key] = ema(self.m[key], grad, self.b2).astype(self.m[key].dtype)
        return self.current(self.learning_rate) * self.decay(key, update, param)
