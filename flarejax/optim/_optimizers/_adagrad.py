"""Adagrad."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._complex import abs_sq, real_like
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["Adagrad"]


class Adagrad(Counted, StateDtype):
    r"""Adagrad: per-coordinate step sizes from the running sum of squared gradients.

    .. math::

        G_t &= G_{t-1} + |g_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\, g_t / \sqrt{G_t + \varepsilon}

    with :math:`G_0` the ``initial_accumulator_value``; a coordinate whose
    :math:`G_t` is 0 is not updated. Equal to ``optax.adagrad``;
    ``torch.optim.Adagrad`` adds :math:`\varepsilon` outside the square root and
    starts from :math:`G_0 = 0`.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    initial_accumulator_value : float
        :math:`G_0`, the starting value of the sum of squares.
    eps : float
        :math:`\varepsilon`, added inside the square root.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization", JMLR 2011.
    """

    def __init__(
        self,
        learning_rate: float,
        initial_accumulator_value: float = 0.1,
        eps: float = 1e-7,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("initial_accumulator_value", initial_accumulator_value)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps
        self.sum_of_squares: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if key not in self.sum_of_squares:
            self.sum_of_squares[key] = real_like(grad, self.initial_accumulator_value)
        self.sum_of_squares[key] = abs_sq(grad) + self.sum_of_squares[key]
        total = self.sum_of_squares[key]
        # rsqrt, as optax computes it; an all-zero history means no step rather than 0/0.
        scale = jnp.where(total > 0, jax.lax.rsqrt(total + self.eps), 0.0)
        return self.current(self.learning_rate) * (scale * grad)
