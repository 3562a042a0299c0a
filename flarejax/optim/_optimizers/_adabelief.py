"""AdaBelief: Adam scaled by the belief in the gradient."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._complex import abs_sq
from ._moments import AdaptiveMoments, debias, ema, nesterov_debias

__all__ = ["AdaBelief"]


class AdaBelief(AdaptiveMoments):
    r"""AdaBelief: Adam whose second moment is the variance of the gradient around its EMA.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        s_t &= \beta_2 s_{t-1} + (1 - \beta_2)\, (g_t - m_t)^2 + \varepsilon_{root} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{s_t / (1 - \beta_2^t)} + \varepsilon}

    A gradient close to its prediction :math:`m_t` (high "belief") gets a large
    step, a surprising one a small step. :math:`\varepsilon_{root}` is added to the
    state, as in the paper. With ``nesterov=True`` the first moment is the
    Nesterov one of :class:`NAdam`. Equal to ``optax.adabelief``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first moment and of the belief.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added to :math:`s_t` at every step.
    nesterov : bool
        Use Nesterov momentum.
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
    Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in
    Observed Gradients", NeurIPS 2020.
    """

    second_moment = "s"
    s: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-16,
        eps_root: float = 1e-16,
        *,
        nesterov: bool = False,
        mu_dtype: Any = None,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        self.nesterov = nesterov

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad)
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        s = ema(self.s[key], abs_sq(grad - self.m[key]), self.b2)
        self.s[key] = s.astype(self.s[key].dtype) + self.eps_root
        if self.nesterov:
            m_hat = nesterov_debias(self.m[key], grad, self.b1, self.t)
        else:
            m_hat = debias(self.m[key], self.b1, self.t)
        s_hat = debias(self.s[key], self.b2, self.t)
        return self.current(self.learning_rate) * (m_hat / (jnp.sqrt(s_hat) + self.eps))
