"""Optimistic gradient descent."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["OptimisticGD"]


class OptimisticGD(Counted, StateDtype):
    r"""Optimistic gradient descent: extrapolate from the previous gradient.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big((\alpha + \beta)\, g_t - \beta\, g_{t-1}\big)

    with :math:`g_0 = g_1` (the first step is :math:`\eta\, \alpha\, g_1`). With
    :math:`\alpha = \beta = 1` this is the optimistic step
    :math:`2 g_t - g_{t-1}` used for min-max games. Equal to
    ``optax.optimistic_gradient_descent``; torch.optim has no optimistic method.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    alpha : float or schedule
        :math:`\alpha`, the weight of the current gradient.
    beta : float or schedule
        :math:`\beta`, the weight of the optimistic correction.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Mokhtari, Ozdaglar & Pattathil, "A Unified Analysis of Extra-gradient and
    Optimistic Gradient Methods for Saddle Point Problems", AISTATS 2020.
    """

    def __init__(
        self,
        learning_rate: float,
        alpha: float = 1.0,
        beta: float = 1.0,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("alpha", alpha)
        check_nonnegative("beta", beta)
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.beta = beta
        self.prev_grad: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if key not in self.prev_grad:
            self.prev_grad[key] = jnp.zeros_like(grad)
        # The step counter, not the state, marks the first step: opt.init builds zeros.
        prev = jnp.where(self.t == 1, grad, self.prev_grad[key])
        self.prev_grad[key] = grad
        alpha, beta = self.current(self.alpha), self.current(self.beta)
        return self.current(self.learning_rate) * ((alpha + beta) * grad - beta * prev)
