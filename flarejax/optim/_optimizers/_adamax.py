"""Adamax: Adam with an infinity-norm second moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._moments import AdaptiveMoments, debias, ema

__all__ = ["Adamax"]


class Adamax(AdaptiveMoments):
    r"""Adamax: Adam with the infinity norm in place of the second moment.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \varepsilon) \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}{u_t}

    Equal to ``optax.adamax`` and to ``torch.optim.Adamax``. The infinity norm
    needs no bias correction; :math:`\varepsilon` inside the max keeps
    :math:`u_t` positive.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1 : float
        Decay rate :math:`\beta_1` of the first moment.
    b2 : float
        Decay rate :math:`\beta_2` of the infinity norm.
    eps : float
        :math:`\varepsilon`, added to :math:`|g_t|`.
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
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, section 7.1.
    """

    second_moment = "u"
    u: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        mu_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype=mu_dtype, state_dtype=state_dtype)

    def direction(self, key: str, grad: jax.Array) -> jax.Array:
        """The Adamax direction :math:`\\hat m_t / u_t`."""
        self._build(key, grad)  # u is a running max of |g|: real, for complex g too
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        self.u[key] = jnp.maximum(jnp.abs(grad) + self.eps, self.b2 * self.u[key])
        return debias(self.m[key], self.b1, self.t) / self.u[key]

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.current(self.learning_rate) * self.direction(key, grad)
