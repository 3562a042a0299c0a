"""Yogi: Adam with an additive, sign-controlled second moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._complex import abs_sq
from ._moments import AdaptiveMoments, debias, ema

__all__ = ["Yogi"]

# Both moments start here, not at zero (optax's ``initial_accumulator_value``).
_INITIAL_ACCUMULATOR = 1e-6


class Yogi(AdaptiveMoments):
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
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

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
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype=mu_dtype, state_dtype=state_dtype)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad, initial=_INITIAL_ACCUMULATOR)
        g2 = abs_sq(grad)
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        self.v[key] = self.v[key] - (1 - self.b2) * jnp.sign(self.v[key] - g2) * g2
        m_hat = debias(self.m[key], self.b1, self.t)
        v_hat = debias(self.v[key], self.b2, self.t)
        return self.current(self.learning_rate) * (m_hat / (jnp.sqrt(v_hat) + self.eps))
