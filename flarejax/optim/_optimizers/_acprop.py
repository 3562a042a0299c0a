"""ACProp: AdaBelief's centered second moment, applied one step late."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._patterns import Pattern
from ._complex import abs_sq
from ._decay import DecoupledDecay
from ._moments import AdaptiveMoments, debias, ema

__all__ = ["ACProp"]


class ACProp(AdaptiveMoments, DecoupledDecay):
    r"""ACProp: the gradient scaled by the belief of the previous step (asynchronous AdaBelief).

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        s_t &= \beta_2 s_{t-1} + (1 - \beta_2)\, |g_t - m_{t-1}|^2 + \varepsilon_{root} \\
        \hat s_{t-1} &= s_{t-1} / (1 - \beta_2^{t-1}) \quad (\hat s_0 = 1) \\
        \theta_t &= \theta_{t-1} - \eta\,\big(g_t / (\sqrt{\hat s_{t-1}} + \varepsilon)
            + \lambda\, \theta_{t-1}\big)

    The numerator is the gradient itself and the denominator uses only what was
    known before it (the belief :math:`s_{t-1}` in the prediction :math:`m_{t-1}`),
    so that the step is not correlated with its own scale. The first step is
    :math:`\eta\, g_1 / (1 + \varepsilon)`. Equal to ``optax.contrib.acprop``;
    for complex parameters :math:`|\cdot|^2` is the squared modulus, as in optax.

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
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.

    References
    ----------
    Zhuang et al., "Momentum Centering and Asynchronous Update for Adaptive
    Gradient Methods", NeurIPS 2021, arXiv:2110.05454.
    """

    second_moment = "s"
    s: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float | Callable[..., Any],
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-16,
        eps_root: float = 1e-16,
        weight_decay: float | Callable[..., Any] = 0.0,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root)
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad)
        m_prev, s_prev = self.m[key], self.s[key]
        # s_{t-1} debiased with t - 1; at t = 1 there is none and the scale is 1
        # (max(., 1) keeps the unused branch finite).
        s_hat = debias(s_prev, self.b2, jnp.maximum(self.t - 1, 1))
        s_hat = jnp.where(self.t == 1, 1, s_hat)
        self.m[key] = ema(m_prev, grad, self.b1).astype(m_prev.dtype)
        s = ema(s_prev, abs_sq(grad - m_prev), self.b2) + self.eps_root
        self.s[key] = s.astype(s_prev.dtype)
        direction = grad / (jnp.sqrt(s_hat) + self.eps)
        return self.current(self.learning_rate) * self.decay(key, direction, param)
