"""SignSGD."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._moments import Counted, new_counter

__all__ = ["SignSGD"]


class SignSGD(Counted):
    r"""SignSGD: step along the sign of the gradient.

    .. math::

        \theta_t = \theta_{t-1} - \eta\, \operatorname{sign}(g_t)

    Equal to ``optax.sign_sgd``; torch.optim has no sign optimizer.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.

    References
    ----------
    Bernstein, Wang, Azizzadenesheli & Anandkumar, "signSGD: Compressed
    Optimisation for Non-Convex Problems", ICML 2018.
    """

    def __init__(self, learning_rate: float) -> None:
        check_nonnegative("learning_rate", learning_rate)
        self.learning_rate = learning_rate
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.current(self.learning_rate) * jnp.sign(grad)
