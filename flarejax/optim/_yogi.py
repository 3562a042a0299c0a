"""Yogi: Adam with an additive, sign-controlled second moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._base import Optimizer
from ._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._mu_dtype import as_mu_dtype, moment_dtype

__all__ = ["Yogi"]

# Both moments start here, not at zero (optax's ``initial_accumulator_value``).
_INITIAL_ACCUMULATOR = 1e-6


class Yogi(Optimizer):
    r"""Yogi: Adam whose second moment moves by at most :math:`(1 - \beta_2)\, |g_t|^2` a step.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= v_{t-1} - (1 - \beta_2)\, \operatorname{sign}(v_{t-1} - |g_t|^2)\, |g_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{v_t / (1 - \beta_2^t)} + \varepsilon}

    Adam's :math:`v_t` forgets a large past gradient multiplicatively; Yogi's
    additive update lets the effective learning rate grow back more slowly.
    :math:`m_0 = v_0 = 10^{-6}`. Equal to ``optax.yogi``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first and second moments.
    eps : float
        :math:`\varepsilon`, added to the denominator (larger than Adam's).
    mu_dtype : dtype, optional
        The dtype of the first moment :math:`m` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as ``mu_dtype`` of ``optax.adam``.

    References
    ----------
    Zaheer et al., "Adaptive Methods for Nonconvex Optimization", NeurIPS 2018.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-3,
        mu_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.m: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}
        self.t = jnp.zeros((), jnp.uint32)

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.t = self.t + 1
        return grads

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            dtype = moment_dtype(self.mu_dtype, grad)
            self.m[key] = jnp.full_like(grad, _INITIAL_ACCUMULATOR, dtype=dtype)
            self.v[key] = real_like(grad, _INITIAL_ACCUMULATOR)  # |g|^2 is real
        g2 = abs_sq(grad)
        self.m[key] = (self.b1 * self.m[key] + (1 - self.b1) * grad).astype(self.m[key].dtype)
        self.v[key] = self.v[key] - (1 - self.b2) * jnp.sign(self.v[key] - g2) * g2
        m_hat = self.m[key] / (1 - self.b1**self.t)
        v_hat = self.v[key] / (1 - self.b2**self.t)
        return self.current(self.learning_rate) * (m_hat / (jnp.sqrt(v_hat) + self.eps))
