"""DoWG: distance over weighted gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_positive
from .._patterns import Pattern
from ._dog import DistanceOverGradients

__all__ = ["DoWG"]


class DoWG(DistanceOverGradients):
    r"""DoWG: distance over weighted gradients, a learning-rate-free SGD.

    .. math::

        \bar r^2_t &= \max\big(\bar r^2_{t-1},\;
            \lVert \theta_{t-1} - \theta_0 \rVert^2\big) \\
        v_t &= v_{t-1} + \bar r^2_t\, \lVert g_t \rVert^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\bar r^2_t}{\sqrt{v_t} + \varepsilon}\, g_t

    with norms over all parameters together. Unlike :class:`DoG`, the sum of
    squared gradient norms weighs each by the distance estimate of its step, so
    that recent gradients (taken farther from the start) weigh more. A
    ``weight_decay`` :math:`\lambda` is added to the gradient first, as in
    optax. Equal to ``optax.contrib.dowg``; complex parameters take the modulus
    in the norms, as optax.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, a multiplier on the step size (1 for none).
    init_estim_sq_dist : float, optional
        :math:`\bar r^2_0`, the initial squared distance estimate (``None``:
        ``eps``).
    eps : float
        :math:`\varepsilon`, added to the denominator.
    weight_decay : float or schedule, optional
        :math:`\lambda`, added to the gradient (``None``: no decay).
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches, as in :class:`AdamW`.

    References
    ----------
    Khaled, Mishchenko & Jin, "DoWG Unleashed: An Efficient Universal
    Parameter-Free Gradient Descent Method", NeurIPS 2023.
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 1.0,
        init_estim_sq_dist: float | None = None,
        eps: float = 1e-4,
        weight_decay: float | Callable[..., Any] | None = None,
        mask: Pattern | None = None,
    ) -> None:
        # A zero estimate would never grow: the steps would all be zero.
        check_positive("init_estim_sq_dist", init_estim_sq_dist)
        check_positive("eps", eps)  # the initial estimate when none is given
        self.init_shared(learning_rate, eps, weight_decay, mask)
        self.init_estim_sq_dist = init_estim_sq_dist
        initial = eps if init_estim_sq_dist is None else init_estim_sq_dist
        self.estim_sq_dist = jnp.asarray(initial, jnp.float32)
        self.weighted_sq_norm_grads = jnp.zeros((), jnp.float32)

    def next_step_size(self, sq_dist: jax.Array, sq_norm: jax.Array) -> jax.Array:
        self.estim_sq_dist = jnp.maximum(self.estim_sq_dist, sq_dist)
        self.weighted_sq_norm_grads = self.weighted_sq_norm_grads + self.estim_sq_dist * sq_norm
        return self.estim_sq_dist / (jnp.sqrt(self.weighted_sq_norm_grads) + self.eps)
