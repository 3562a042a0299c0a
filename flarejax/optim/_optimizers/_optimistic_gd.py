"""Optimistic gradient descent."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["OptimisticGD", "optimistic"]


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
        return self.current(self.learning_rate) * optimistic(self, self.prev_grad, key, grad)


def optimistic(opt: Any, previous: dict[str, jax.Array], key: str, u: jax.Array) -> jax.Array:
    """:math:`(\\alpha + \\beta)\\, u_t - \\beta\\, u_{t-1}`, keeping :math:`u_t` in ``previous``.

    ``opt`` has ``alpha``, ``beta`` and the step counter ``t``; :math:`u_0 = u_1`.
    """
    if key not in previous:
        previous[key] = jnp.zeros_like(u)
    # The step counter, not the state, marks the first step: opt.init builds zeros.
    prev = jnp.where(opt.t == 1, u, previous[key])
    previous[key] = u.astype(previous[key].dtype)
    alpha, beta = opt.current(opt.alpha), opt.current(opt.beta)
    return (alpha + beta) * u - beta * prev
