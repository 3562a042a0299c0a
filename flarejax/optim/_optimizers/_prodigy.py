"""Prodigy: Adam with a learned, parameter-free learning rate."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive, check_range
from ._complex import reject_complex
from ._moments import Counted, ema, new_counter
from ._mu_dtype import StateDtype

__all__ = ["Prodigy"]


class Prodigy(Counted, StateDtype):
    r"""Prodigy: Adam whose step size :math:`d_t` estimates the distance to the solution.

    .. math::

        \hat\eta_t &= \eta\, d_{t-1} \sqrt{1 - \beta_2^t} / (1 - \beta_1^t) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, d_{t-1} g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, d_{t-1}^2 g_t^2 \\
        r_t &= \beta_3 r_{t-1} + \tfrac{d_{t-1}}{d_0} \hat\eta_t \,
            \langle g_t, \theta_0 - \theta_{t-1} \rangle, \qquad
        s_t = \beta_3 s_{t-1} + \tfrac{\hat\eta_t}{d_0}\, d_{t-1} g_t \\
        d_t &= \max\big(d_{t-1},\; c\, r_t / \lVert s_t \rVert_1\big) \\
        \theta_t &= \theta_{t-1} - \hat\eta_t \big(m_t / (\sqrt{v_t} + d_t\, \varepsilon)
            + \lambda\, \theta_{t-1}\big)

    The inner product and the norm run over all parameters together, so
    :math:`d_t` is updated once per step in ``call_model``. With
    ``safeguard_warmup`` the :math:`s_t` update uses :math:`d_{t-1}` instead of
    :math:`\hat\eta_t`. Equal to ``optax.contrib.prodigy``, except that :math:`d`
    is kept in float32 whatever the parameters' dtype (optax: their lowest
    precision dtype). torch.optim has no Prodigy.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, a multiplier on the estimated step (1 for no schedule).
    betas : tuple of float
        :math:`(\beta_1, \beta_2)`, the Adam decay rates.
    beta3 : float, optional
        :math:`\beta_3`, the decay of the distance estimate's sums;
        :math:`\sqrt{\beta_2}` when ``None``.
    eps : float
        :math:`\varepsilon`, scaled by :math:`d_t` in the denominator.
    estim_lr0 : float
        :math:`d_0`, the initial estimate (an underestimate).
    estim_lr_coef : float
        :math:`c`, a factor on the estimate.
    weight_decay : float or schedule
        :math:`\lambda`, decoupled weight decay scaled by the step size.
    safeguard_warmup : bool
        Leave the learning rate out of :math:`s_t` (helps with warm-up schedules).
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
    Learner", ICML 2024.
    """

    def __init__(
        self,
        learning_rate: float = 1.0,
        betas: tuple[float, float] = (0.9, 0.999),
        beta3: float | None = None,
        eps: float = 1e-8,
        estim_lr0: float = 1e-6,
        estim_lr_coef: float = 1.0,
        weight_decay: float = 0.0,
        safeguard_warmup: bool = False,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("betas[0]", betas[0], 0, 1)
        check_range("betas[1]", betas[1], 0, 1)
        check_range("beta3", beta3, 0, 1)
        check_nonnegative("eps", eps)
        check_positive("estim_lr0", estim_lr0)
        check_nonnegative("estim_lr_coef", estim_lr_coef)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.betas = tuple(betas)
        self.beta3 = beta3
        self.eps = eps
        self.estim_lr0 = estim_lr0
        self.estim_lr_coef = estim_lr_coef
        self.weight_decay = weight_decay
        self.safeguard_warmup = safeguard_warmup
        self.exp_avg: dict[str, jax.Array] = {}
        self.exp_avg_sq: dict[str, jax.Array] = {}
        self.grad_sum: dict[str, jax.Array] = {}
        self.params0: dict[str, jax.Array] = {}
        # Global state: the distance estimate d, the weighted numerator r, and the
        # step size of the last step (used by call_param).
        self.estim_lr = jnp.asarray(estim_lr0, jnp.float32)
        self.numerator_weighted = jnp.zeros((), jnp.float32)
        self.step_size = jnp.zeros((), jnp.float32)
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **_: Any
    ) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        beta1, beta2 = self.betas
        beta3 = beta2**0.5 if self.beta3 is None else self.beta3
        d, d0 = self.estim_lr, self.estim_lr0
        correction = (1 - beta2**self.t) ** 0.5 / (1 - beta1**self.t)
        dlr = (d * self.current(self.learning_rate) * correction).astype(d.dtype)
        numerator = jnp.zeros((), jnp.float32)
        for key, grad in grads.items():
            reject_complex(self, key, grad, "its distance estimate is a real inner product")
            param = params[key]
            if key not in self.params0:
                self.params0[key] = param
                self.exp_avg[key] = jnp.zeros_like(grad)
                self.exp_avg_sq[key] = jnp.zeros_like(grad)
                self.grad_sum[key] = jnp.zeros_like(grad)
            # A sum of products, not jnp.vdot: vdot flattens, which all-gathers sharded arrays.
            numerator = numerator + jnp.sum(grad * (self.params0[key] - param))
            dg = d * grad
            self.exp_avg[key] = ema(self.exp_avg[key], dg, beta1).astype(grad.dtype)
            self.exp_avg_sq[key] = (beta2 * self.exp_avg_sq[key] + (1 - beta2) * dg * dg).astype(
                grad.dtype
            )
            weight = d if self.safeguard_warmup else dlr
            self.grad_sum[key] = (beta3 * self.grad_sum[key] + weight * dg / d0).astype(grad.dtype)
        self.numerator_weighted = beta3 * self.numerator_weighted + (d / d0) * dlr * numerator
        denominator = sum(jnp.sum(jnp.abs(self.grad_sum[key])) for key in grads)
        self.estim_lr = jnp.maximum(d, self.estim_lr_coef * self.numerator_weighted / denominator)
        self.step_size = dlr
        return grads

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        dlr = self.step_size
        denom = jnp.sqrt(self.exp_avg_sq[key]) + self.estim_lr * self.eps
        return self.current(self.weight_decay) * dlr * param + dlr * self.exp_avg[key] / denom
