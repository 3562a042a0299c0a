"""Adan: adaptive Nesterov momentum from gradient differences."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_range
from .._patterns import Pattern
from ._complex import abs_sq
from ._decay import DecoupledDecay
from ._moments import AdaptiveMoments, debias, ema
from ._mu_dtype import moment_dtype

__all__ = ["Adan"]


class Adan(AdaptiveMoments, DecoupledDecay):
    r"""Adan: Adam with a Nesterov correction estimated from consecutive gradients.

    .. math::

        \Delta_t &= g_t - g_{t-1} \quad (\Delta_1 = 0) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, \Delta_t \\
        n_t &= \beta_3 n_{t-1} + (1 - \beta_3)\, \big(g_t + (1 - \beta_2)\, \Delta_t\big)^2 \\
        \theta_t &= \theta_{t-1} - \eta\,\Big(
            \frac{\hat m_t + (1 - \beta_2)\, \hat v_t}{\sqrt{\hat n_t + \varepsilon_{root}}
            + \varepsilon} + \lambda\, \theta_{t-1}\Big)

    where hats are bias corrections by :math:`1 - \beta_i^t`. Equal to
    ``optax.adan``, whose weight decay is added to the update; the paper's is
    proximal, :math:`\theta_t = (\theta_{t-1} - \eta\, u_t) / (1 + \eta\lambda)`.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2, b3 : float
        Decay rates of the gradient, of the gradient difference and of the
        second moment.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root.
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.
    mu_dtype : dtype, optional
        The dtype of the moments :math:`m` and :math:`v` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as ``mu_dtype`` of ``optax.adam``.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for Faster
    Optimizing Deep Models", TPAMI 2024.
    """

    second_moment = "n"
    n: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.98,
        b2: float = 0.92,
        b3: float = 0.99,
        eps: float = 1e-8,
        eps_root: float = 1e-8,
        weight_decay: float = 0.0,
        mask: Pattern | None = None,
        mu_dtype: Any = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        check_range("b3", b3, 0, 1)
        self.b3 = b3
        self.init_decay(weight_decay, mask, decouple_from_lr)
        self.v: dict[str, jax.Array] = {}
        self.prev_grad: dict[str, jax.Array] = {}

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            self.v[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            self.prev_grad[key] = jnp.zeros_like(grad)
        self._build(key, grad)
        # No previous gradient at the first step: its difference counts as zero.
        diff = jnp.where(self.t == 1, jnp.zeros_like(grad), grad - self.prev_grad[key])
        self.prev_grad[key] = grad
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        self.v[key] = ema(self.v[key], diff, self.b2).astype(self.v[key].dtype)
        self.n[key] = ema(self.n[key], abs_sq(grad + (1 - self.b2) * diff), self.b3)
        m_hat = debias(self.m[key], self.b1, self.t)
        v_hat = debias(self.v[key], self.b2, self.t)
        n_hat = debias(self.n[key], self.b3, self.t)
        update = (m_hat + (1 - self.b2) * v_hat) / (jnp.sqrt(n_hat + self.eps_root) + self.eps)
        return self.current(self.learning_rate) * self.decay(key, update, param)
