"""COCOB-Backprop: learning-rate-free steps from coin betting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive
from .._patterns import Pattern
from ._complex import reject_complex
from ._decay import DecoupledDecay
from ._moments import Counted, new_counter

__all__ = ["COCOB"]


class COCOB(Counted, DecoupledDecay):
    r"""COCOB-Backprop: each coordinate bets a fraction of its winnings on the gradient's sign.

    With :math:`c_t = \eta\, (g_t + \lambda\, \theta_{t-1})`, element-wise:

    .. math::

        L_t &= \max(L_{t-1}, |c_t|), \qquad G_t = G_{t-1} + |c_t| \\
        R_t &= \max\big(R_{t-1} - c_t\, (\theta_{t-1} - \theta_0),\; 0\big), \qquad
        C_t = C_{t-1} - c_t \\
        \theta_t &= \theta_0 + \frac{C_t}{L_t \max(G_t + L_t,\; \alpha L_t)}\, (L_t + R_t)

    with :math:`L_0 = \varepsilon` and :math:`G_0 = R_0 = C_0 = 0`. The reward
    :math:`R_t` is the wealth won by betting; the next bet is a fraction of it,
    in the direction of the summed negative gradients :math:`C_t`.
    :math:`\alpha` caps the first bets. There is no learning rate to tune
    (:math:`\eta` only rescales the gradients) and the weight decay is added to
    the gradient. Equal to ``optax.contrib.cocob``. Real parameters only: the
    bets compare and clip real numbers.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, a multiplier on the gradients (1 for none).
    alpha : float
        :math:`\alpha`, the bound on the first bets.
    eps : float
        :math:`\varepsilon`, the initial gradient scale :math:`L_0`.
    weight_decay : float or schedule
        :math:`\lambda`, added to the gradient.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches, as in :class:`AdamW`.

    References
    ----------
    Orabona & Tommasi, "Training Deep Networks without Learning Rates Through
    Coin Betting", NeurIPS 2017.
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 1.0,
        alpha: float = 100.0,
        eps: float = 1e-8,
        weight_decay: float | Callable[..., Any] = 0.0,
        mask: Pattern | None = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_positive("alpha", alpha)
        check_positive("eps", eps)  # L_0: the first bet divides by it
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.eps = eps
        # optax adds the decay to the gradient (coupled), before scaling it.
        self.init_decay(weight_decay, mask, False)
        self.params0: dict[str, jax.Array] = {}
        self.cumulative_gradients: dict[str, jax.Array] = {}
        self.scale: dict[str, jax.Array] = {}
        self.subgradients: dict[str, jax.Array] = {}
        self.reward: dict[str, jax.Array] = {}
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "its bets compare and clip real numbers")
        if key not in self.params0:
            self.params0[key] = param
            self.cumulative_gradients[key] = jnp.zeros_like(grad)
            self.scale[key] = jnp.full_like(grad, self.eps)
            self.subgradients[key] = jnp.zeros_like(grad)
            self.reward[key] = jnp.zeros_like(grad)
        c = self.current(self.learning_rate) * self.decay(key, grad, param)
        p0 = self.params0[key]
        scale = jnp.maximum(self.scale[key], jnp.abs(c))
        subgradients = self.subgradients[key] + jnp.abs(c)
        reward = jnp.maximum(self.reward[key] - c * (param - p0), 0)
        cumulative = self.cumulative_gradients[key] - c
        bet = cumulative / (scale * jnp.maximum(subgradients + scale, self.alpha * scale))
        self.scale[key], self.subgradients[key] = scale, subgradients
        self.reward[key], self.cumulative_gradients[key] = reward, cumulative
        # The update subtracted: the parameter minus the new bet's point.
        return param - (p0 + bet * (scale + reward))
