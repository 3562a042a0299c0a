"""Simplified AdEMAMix: one slow momentum, not averaged, mixed with the gradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from .._patterns import Pattern
from ._complex import abs_sq
from ._decay import DecoupledDecay
from ._moments import AdaptiveMoments, debias, ema

__all__ = ["SimplifiedAdEMAMix"]


class SimplifiedAdEMAMix(AdaptiveMoments, DecoupledDecay):
    r"""Simplified AdEMAMix: Adam whose numerator is a momentum sum plus :math:`\alpha` gradients.

    .. math::

        m_t &= \beta_1 m_{t-1} + g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\,\Big(
            \frac{m_t + \alpha\, g_t}{\sqrt{v_t / (1 - \beta_2^t) + \varepsilon_{root}}
            + \varepsilon} + \lambda\, \theta_{t-1}\Big)

    Unlike :class:`AdEMAMix` there is a single momentum, an accumulated sum
    (not an average, and not bias-corrected: its scale
    :math:`1 / (1 - \beta_1)` belongs in :math:`\eta`), and :math:`\alpha`
    needs no warm-up. :math:`\alpha = 0` is Adam at the learning rate
    :math:`\eta / (1 - \beta_1)`, without the first moment's bias correction.
    Equal to ``optax.contrib.simplified_ademamix`` on real parameters; for
    complex ones :math:`|g_t|^2` is the squared modulus (optax squares without
    conjugating, so its :math:`v_t` is complex).

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1 : float
        :math:`\beta_1`, the decay of the momentum sum (close to 1: a long memory).
    b2 : float
        :math:`\beta_2`, the decay of the second moment.
    alpha : float or schedule
        :math:`\alpha`, the weight of the current gradient.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root.
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.

    References
    ----------
    Morwani et al., "Connections between Schedule-Free Optimizers, AdEMAMix, and
    Accelerated SGD Variants", arXiv:2502.02431, 2025.
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any],
        b1: float = 0.99,
        b2: float = 0.95,
        alpha: float | Callable[..., Any] = 0.0,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        weight_decay: float | Callable[..., Any] = 0.0,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root)
        check_nonnegative("alpha", alpha)
        self.alpha = alpha
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad)
        # A sum, not an average: no (1 - b1) on the gradient.
        self.m[key] = (grad + self.b1 * self.m[key]).astype(self.m[key].dtype)
        self.v[key] = ema(self.v[key], abs_sq(grad), self.b2).astype(self.v[key].dtype)
        v_hat = debias(self.v[key], self.b2, self.t)
        direction = (self.m[key] + self.current(self.alpha) * grad) / (
            jnp.sqrt(v_hat + self.eps_root) + self.eps
        )
        return self.current(self.learning_rate) * self.decay(key, direction, param)
