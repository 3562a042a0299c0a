"""RAdam: Adam with a rectified (variance-corrected) adaptive step."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._adam import Adam
from ._complex import abs_sq
from ._moments import debias, ema, nesterov_debias

__all__ = ["RAdam"]


class RAdam(Adam):
    r"""RAdam: rectified Adam.

    .. math::

        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        r_t &= \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}
            {(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}} \\
        \theta_t &= \theta_{t-1} - \eta
        \begin{cases}
            r_t\, \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)
                & \text{if } \rho_t \ge \rho_{\min} \\
            \hat m_t & \text{otherwise}
        \end{cases}

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` (:class:`NAdam` with
    ``nesterov=True``). In the first steps :math:`v_t` is too noisy to divide by:
    RAdam takes momentum-SGD steps until the length :math:`\rho_t` of the
    moving average reaches the threshold :math:`\rho_{\min}`, then rescales
    Adam's step by :math:`r_t`. Equal to ``optax.radam``; ``torch.optim.RAdam``
    adds :math:`\varepsilon` to :math:`\sqrt{v_t}` before the bias correction and
    switches at :math:`\rho_t > 5`.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`Adam`.
    threshold : float
        :math:`\rho_{\min}`, the length of the moving average from which the
        adaptive step is used.
    nesterov : bool
        Use the Nesterov first moment of :class:`NAdam`.

    References
    ----------
    Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond", ICLR 2020.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        threshold: float = 5.0,
        *,
        nesterov: bool = False,
        mu_dtype: Any = None,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        self.threshold = threshold
        self.nesterov = nesterov

    def direction(self, key: str, grad: jax.Array, scale: Any = 1) -> jax.Array:
        """The rectified direction (momentum alone while :math:`\\rho_t < \\rho_{\\min}`),
        times ``scale``."""
        self._build(key, grad)
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        self.v[key] = ema(self.v[key], abs_sq(grad), self.b2)
        if self.nesterov:
            m_hat = nesterov_debias(self.m[key], grad, self.b1, self.t)
        else:
            m_hat = debias(self.m[key], self.b1, self.t)
        v_hat = debias(self.v[key], self.b2, self.t)
        rho_inf = 2.0 / (1.0 - self.b2) - 1.0
        b2t = self.b2**self.t
        rho = rho_inf - 2 * self.t * b2t / (1 - b2t)
        # NaN while rho < 4; those steps take the other branch of the where.
        r = jnp.sqrt(
            (rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        )
        adaptive = r.astype(m_hat.dtype) * m_hat / (jnp.sqrt(v_hat + self.eps_root) + self.eps)
        return scale * jnp.where(rho >= self.threshold, adaptive, m_hat)
