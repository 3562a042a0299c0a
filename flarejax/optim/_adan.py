"""Adan: adaptive Nesterov momentum from gradient differences."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._base import Optimizer
from ._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._mu_dtype import as_mu_dtype, moment_dtype
from ._patterns import Pattern, matches, normalize_patterns

__all__ = ["Adan"]


class Adan(Optimizer):
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
    weight_decay : float or schedule
        The decoupled decay rate :math:`\lambda`, scaled by the learning rate.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:`` regex,
        or ``key -> bool``, e.g. ``lambda key: not key.endswith("bias")``);
        ``None``: all. (optax's ``mask`` is a tree of booleans, or a function of
        the parameters returning one.)
    mu_dtype : dtype, optional
        The dtype of the moments :math:`m` and :math:`v` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as ``mu_dtype`` of ``optax.adam``.

    References
    ----------
    Xie et al., "Adan: Adaptive Nesterov Momentum Algorithm for Faster
    Optimizing Deep Models", TPAMI 2024.
    """

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
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_range("b3", b3, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("eps_root", eps_root)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.b3 = b3
        self.eps = eps
        self.eps_root = eps_root
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.m: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}
        self.n: dict[str, jax.Array] = {}
        self.prev_grad: dict[str, jax.Array] = {}
        self.t = jnp.zeros((), jnp.uint32)

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.t = self.t + 1
        return grads

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            for state in (self.m, self.v):
                state[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            self.prev_grad[key] = jnp.zeros_like(grad)
            self.n[key] = real_like(grad)  # |.|^2 is real, for complex g too
        # No previous gradient at the first step: its difference counts as zero.
        diff = jnp.where(self.t == 1, jnp.zeros_like(grad), grad - self.prev_grad[key])
        self.prev_grad[key] = grad
        self.m[key] = (self.b1 * self.m[key] + (1 - self.b1) * grad).astype(self.m[key].dtype)
        self.v[key] = (self.b2 * self.v[key] + (1 - self.b2) * diff).astype(self.v[key].dtype)
        self.n[key] = self.b3 * self.n[key] + (1 - self.b3) * abs_sq(grad + (1 - self.b2) * diff)
        m_hat = self.m[key] / (1 - self.b1**self.t)
        v_hat = self.v[key] / (1 - self.b2**self.t)
        n_hat = self.n[key] / (1 - self.b3**self.t)
        update = (m_hat + (1 - self.b2) * v_hat) / (jnp.sqrt(n_hat + self.eps_root) + self.eps)
        if self.mask is None or matches(self.mask, key):
            update = update + self.current(self.weight_decay) * param
        return self.current(self.learning_rate) * update
