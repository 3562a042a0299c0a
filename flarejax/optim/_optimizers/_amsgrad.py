"""AMSGrad: Adam with a non-increasing second moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._adam import Adam
from ._complex import abs_sq, real_like
from ._moments import debias, ema

__all__ = ["AMSGrad"]


class AMSGrad(Adam):
    r"""AMSGrad: Adam that divides by the largest second moment seen so far.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \hat v^{\max}_t &= \max(\hat v^{\max}_{t-1},\ v_t / (1 - \beta_2^t)) \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{m_t / (1 - \beta_1^t)}
            {\sqrt{\hat v^{\max}_t + \varepsilon_{root}} + \varepsilon}

    The step size per coordinate can then only shrink, which fixes Adam's
    non-convergence examples. Equal to ``optax.amsgrad``;
    ``torch.optim.Adam(amsgrad=True)`` takes the maximum of the uncorrected
    :math:`v_t` and bias-corrects the maximum.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`Adam`.
    bias_correction_mu, bias_correction_nu : bool
        Bias-correct the first moment, and the second moment before the maximum.

    References
    ----------
    Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        bias_correction_mu: bool = True,
        bias_correction_nu: bool = True,
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        self.bias_correction_mu = bias_correction_mu
        self.bias_correction_nu = bias_correction_nu
        self.v_max: dict[str, jax.Array] = {}

    def direction(self, key: str, grad: jax.Array, scale: Any = 1) -> jax.Array:
        """The AMSGrad direction :math:`\\hat m_t / (\\sqrt{\\hat v^{\\max}_t} + \\varepsilon)`,
        times ``scale``."""
        if key not in self.v_max:
            self.v_max[key] = real_like(grad)
        self._build(key, grad)
        m = ema(self.m[key], grad, self.b1)
        self.v[key] = ema(self.v[key], abs_sq(grad), self.b2)
        m_hat = debias(m, self.b1, self.t) if self.bias_correction_mu else m
        v_hat = debias(self.v[key], self.b2, self.t) if self.bias_correction_nu else self.v[key]
        self.v_max[key] = jnp.maximum(self.v_max[key], v_hat)
        self.m[key] = m.astype(self.m[key].dtype)
        return scale * m_hat / (jnp.sqrt(self.v_max[key] + self.eps_root) + self.eps)
