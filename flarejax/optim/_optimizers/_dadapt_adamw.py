"""D-Adaptation AdamW: AdamW whose step size estimates the distance to the solution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive, check_range
from ._complex import reject_complex
from ._moments import Counted, ema, new_counter

__all__ = ["DAdaptAdamW"]


class DAdaptAdamW(Counted):
    r"""D-Adaptation AdamW: Adam scaled by a growing lower bound :math:`d_t` on the distance.

    With :math:`\hat\eta_t = \eta_t\, d_{t-1} \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)`
    and :math:`\sqrt{\beta_2}` written :math:`\rho`:

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, \hat\eta_t\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        r_t &= \rho\, r_{t-1} + (1 - \rho)\, \hat\eta_t\,
            \Big\langle g_t,\, \frac{s_{t-1}}{\sqrt{v_{t-1}} + \varepsilon} \Big\rangle,
        \qquad s_t = \rho\, s_{t-1} + (1 - \rho)\, \hat\eta_t\, g_t \\
        d_t &= \max\big(d_{t-1},\; r_t / ((1 - \rho) \lVert s_t \rVert_1)\big) \\
        \theta_t &= \theta_{t-1} - m_t / (\sqrt{v_t} + \varepsilon)
            - \lambda\, \hat\eta_t\, \theta_{t-1}

    The inner product and the norm run over all parameters together, so
    :math:`d_t` is updated once per step in ``call_model``; the step size is
    in :math:`m_t`. Equal to ``optax.contrib.dadapt_adamw``, except that
    :math:`d` and :math:`r` are float32 whatever the parameters' dtype (optax:
    their lowest-precision dtype), as in :class:`Prodigy`, its successor.
    Real parameters only: :math:`d_t` comes from a real inner product.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta_t`, a multiplier on the estimated step (1 for no schedule).
    betas : tuple of float
        :math:`(\beta_1, \beta_2)`, the Adam decay rates.
    eps : float
        :math:`\varepsilon`, added to the denominators.
    estim_lr0 : float
        :math:`d_0`, the initial estimate (an underestimate).
    weight_decay : float
        :math:`\lambda`, decoupled weight decay scaled by the step size
        :math:`\hat\eta_t`.

    References
    ----------
    Defazio & Mishchenko, "Learning-Rate-Free Learning by D-Adaptation",
    ICML 2023.
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        estim_lr0: float = 1e-6,
        weight_decay: float = 0.0,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("betas[0]", betas[0], 0, 1)
        check_range("betas[1]", betas[1], 0, 1)
        check_nonnegative("eps", eps)
        check_positive("estim_lr0", estim_lr0)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.betas = tuple(betas)
        self.eps = eps
        self.estim_lr0 = estim_lr0
        self.weight_decay = weight_decay
        self.exp_avg: dict[str, jax.Array] = {}
        self.exp_avg_sq: dict[str, jax.Array] = {}
        self.grad_sum: dict[str, jax.Array] = {}
        # Global state: the distance estimate d, the weighted numerator r, and
        # the step size of the current step (used by call_param).
        self.estim_lr = jnp.asarray(estim_lr0, jnp.float32)
        self.numerator_weighted = jnp.zeros((), jnp.float32)
        self.step_size = jnp.zeros((), jnp.float32)
        self.t = new_counter()

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        beta1, beta2 = self.betas
        sb2 = beta2**0.5
        correction = (1 - beta2**self.t) ** 0.5 / (1 - beta1**self.t)
        dlr = (self.estim_lr * self.current(self.learning_rate) * correction).astype(jnp.float32)
        numerator = jnp.zeros((), jnp.float32)
        for key, grad in grads.items():
            reject_complex(self, key, grad, "its distance estimate is a real inner product")
            if key not in self.exp_avg:
                self.exp_avg[key] = jnp.zeros_like(grad)
                self.exp_avg_sq[key] = jnp.zeros_like(grad)
                self.grad_sum[key] = jnp.zeros_like(grad)
            # With the state before this step: s_{t-1} / (sqrt(v_{t-1}) + eps).
            s_weighted = self.grad_sum[key] / (jnp.sqrt(self.exp_avg_sq[key]) + self.eps)
            # A sum of products, not jnp.vdot: vdot flattens, which all-gathers sharded arrays.
            numerator = numerator + jnp.sum(grad * s_weighted).astype(jnp.float32)
            self.exp_avg[key] = ema(self.exp_avg[key], dlr * grad, beta1).astype(grad.dtype)
            self.exp_avg_sq[key] = ema(self.exp_avg_sq[key], grad * grad, beta2).astype(grad.dtype)
            self.grad_sum[key] = ema(self.grad_sum[key], dlr * grad, sb2).astype(grad.dtype)
        self.numerator_weighted = ema(self.numerator_weighted, dlr * numerator, sb2)
        l1 = sum(jnp.sum(jnp.abs(self.grad_sum[key])).astype(jnp.float32) for key in grads)
        estimate = self.numerator_weighted / ((1 - sb2) * l1)
        self.estim_lr = jnp.maximum(self.estim_lr, estimate)
        self.step_size = dlr
        return grads

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        direction = self.exp_avg[key] / (jnp.sqrt(self.exp_avg_sq[key]) + self.eps)
        return self.current(self.weight_decay) * self.step_size * param + direction
