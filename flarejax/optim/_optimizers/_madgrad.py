"""MADGRAD: momentumized, adaptive, dual averaged gradient."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import reject_complex
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["MADGRAD"]


class MADGRAD(Counted, StateDtype):
    r"""MADGRAD: dual averaging with a cube-root Adagrad denominator and momentum.

    .. math::

        g_t &\leftarrow g_t + \lambda\, \theta_{t-1}, \qquad
        \lambda_t = (\eta + \varepsilon) \sqrt{t} \\
        s_t &= s_{t-1} + \lambda_t\, g_t, \qquad
        \nu_t = \nu_{t-1} + \lambda_t\, g_t^2 \\
        z_t &= \theta_0 - s_t / (\sqrt[3]{\nu_t} + \varepsilon) \\
        \theta_t &= (1 - \mu)\, z_t + \mu\, \theta_{t-1}

    where :math:`\theta_0` is the parameter when its state was built (at the
    first step, or at ``opt.init``). Equal to ``optax.contrib.madgrad``; torch.optim
    has no MADGRAD (the authors' PyTorch package couples weight decay the same way).

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    momentum : float
        :math:`\mu`, the weight of the previous iterate.
    weight_decay : float or schedule
        :math:`\lambda`, an L2 penalty added to the gradient.
    eps : float
        :math:`\varepsilon`, added to the learning rate and to the denominator.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Defazio & Jelassi, "Adaptivity without Compromise: A Momentumized, Adaptive,
    Dual Averaged Gradient Method for Stochastic Optimization", JMLR 2022.
    """

    def __init__(
        self,
        learning_rate: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        eps: float = 1e-6,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("momentum", momentum, 0, 1)
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.eps = eps
        self.grad_sum: dict[str, jax.Array] = {}
        self.grad_sum_sq: dict[str, jax.Array] = {}
        self.x0: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "its denominator is a cube root of a sum of squares")
        if key not in self.x0:
            self.x0[key] = param
            self.grad_sum[key] = jnp.zeros_like(grad)
            self.grad_sum_sq[key] = jnp.zeros_like(grad)
        grad = grad + self.current(self.weight_decay) * param
        lr = self.current(self.learning_rate)
        weight = (lr + self.eps) * jnp.sqrt(self.t.astype(jnp.float32))
        self.grad_sum_sq[key] = self.grad_sum_sq[key] + (weight * grad**2).astype(grad.dtype)
        self.grad_sum[key] = self.grad_sum[key] + (weight * grad).astype(grad.dtype)
        z = self.x0[key] - self.grad_sum[key] / (jnp.cbrt(self.grad_sum_sq[key]) + self.eps)
        new_param = (1 - self.momentum) * z + self.momentum * param
        return param - new_param
