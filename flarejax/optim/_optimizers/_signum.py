"""Signum: SignSGD with momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["Signum"]


class Signum(Counted, StateDtype):
    r"""Signum: step along the sign of an exponential moving average of the gradients.

    .. math::

        m_t &= \beta\, m_{t-1} + (1 - \beta)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta\, \operatorname{sign}(m_t)

    Equal to ``optax.signum``; torch.optim has no sign optimizer.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    beta : float
        The decay rate :math:`\beta` of the moving average.
    accumulator_dtype : dtype, optional
        The dtype of :math:`m`; by default the parameter's.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``accumulator_dtype``, when
        given, still sets the momentum's. See the mixed precision guide.

    References
    ----------
    Bernstein, Wang, Azizzadenesheli & Anandkumar, "signSGD: Compressed
    Optimisation for Non-Convex Problems", ICML 2018.
    """

    def __init__(
        self,
        learning_rate: float,
        beta: float = 0.9,
        accumulator_dtype: Any | None = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("beta", beta, 0, 1)
        self.learning_rate = learning_rate
        self.beta = beta
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.m: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.accumulator_dtype, grad))
        m = (1 - self.beta) * grad + self.beta * self.m[key]
        self.m[key] = m.astype(self.m[key].dtype)
        return self.current(self.learning_rate) * jnp.sign(m)
