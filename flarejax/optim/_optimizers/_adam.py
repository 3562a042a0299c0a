"""Adam."""

from __future__ import annotations

from typing import Any

import jax

from ._complex import abs_sq
from ._moments import AdaptiveMoments, adam_direction, ema

__all__ = ["Adam"]


class Adam(AdaptiveMoments):
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
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    # All of its lazy state is built by build_state (init need not trace the step).
    builds_state_by_key = True

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
        """Advance the moments of ``key``; return ``scale`` times the bias-corrected
        direction :math:`\\hat m_t / (\\sqrt{\\hat v_t + \\varepsilon_{root}} + \\varepsilon)`."""
        self._build(key, grad)
        self.m[key] = ema(self.m[key], grad, self.b1).astype(self.m[key].dtype)
        self.v[key] = ema(self.v[key], abs_sq(grad), self.b2)
        # The bias corrections and the scale are folded into per-step scalars.
        return adam_direction(
            self.m[key], self.v[key], self.b1, self.b2, self.t, self.eps, self.eps_root, scale
        )

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.direction(key, grad, scale=self.current(self.learning_rate))
