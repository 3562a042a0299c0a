"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._adam import Adam
from ._complex import abs_sq
from ._moments import debias, ema, nesterov_debias

__all__ = ["NAdam"]


class NAdam(Adam):
    r"""NAdam: Adam with Nesterov momentum.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \hat m_t &= \beta_1\, \frac{m_t}{1 - \beta_1^{t+1}}
            + (1 - \beta_1)\, \frac{g_t}{1 - \beta_1^t}, \qquad
        \hat v_t = \frac{v_t}{1 - \beta_2^t} \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}}
            + \varepsilon)

    Equal to ``optax.nadam``. ``torch.optim.NAdam`` also damps :math:`\beta_1`
    with a warm-up schedule (``momentum_decay``) and has no :math:`\varepsilon_{root}`.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`Adam`.

    References
    ----------
    Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)

    def direction(self, key: str, grad: jax.Array, scale: Any = 1) -> jax.Array:
        """The Nesterov direction :math:`\\hat m_t / (\\sqrt{\\hat v_t} + \\varepsilon)`,
        times ``scale``."""
        self._build(key, grad)
        m = ema(self.m[key], grad, self.b1)
        self.v[key] = ema(self.v[key], abs_sq(grad), self.b2)
        m_hat = nesterov_debias(m, grad, self.b1, self.t)
        v_hat = debias(self.v[key], self.b2, self.t)
        self.m[key] = m.astype(self.m[key].dtype)
        return scale * m_hat / (jnp.sqrt(v_hat + self.eps_root) + self.eps)
