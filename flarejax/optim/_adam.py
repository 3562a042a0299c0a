"""Adam."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._base import Optimizer
from ._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._mu_dtype import as_mu_dtype, moment_dtype

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam: adaptive moment estimation.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad \hat v_t = v_t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1}
            - \eta\, \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)

    Equal to ``optax.adam``; ``torch.optim.Adam`` is the same with ``eps_root=0``.
    For complex parameters :math:`|g_t|^2 = g_t \bar g_t` is real (so is
    :math:`v_t`) and the step keeps the phase of :math:`\hat m_t`, as in optax.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first and second moments.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root (non-zero when
        differentiating through the update).
    mu_dtype : dtype, optional
        The dtype of the first moment :math:`m` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters. See also :class:`MasterWeights`.

    References
    ----------
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        mu_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0.0, 1.0)
        check_range("b2", b2, 0.0, 1.0)
        check_nonnegative("eps", eps)
        check_nonnegative("eps_root", eps_root)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        self.eps_root = eps_root
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.m: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}
        self.t = jnp.zeros((), jnp.uint32)

    def _build(self, key: str, grad: jax.Array) -> None:
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            self.v[key] = real_like(grad)  # |g|^2 is real, for complex g too

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.t = self.t + 1
        return grads

    def direction(self, key: str, grad: jax.Array) -> jax.Array:
        """Advance the moments of ``key``; return the bias-corrected Adam direction."""
        self._build(key, grad)
        self.m[key] = (self.b1 * self.m[key] + (1 - self.b1) * grad).astype(self.m[key].dtype)
        self.v[key] = self.b2 * self.v[key] + (1 - self.b2) * abs_sq(grad)
        m_hat = self.m[key] / (1 - self.b1**self.t)
        v_hat = self.v[key] / (1 - self.b2**self.t)
        return m_hat / (jnp.sqrt(v_hat + self.eps_root) + self.eps)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.current(self.learning_rate) * self.direction(key, grad)
