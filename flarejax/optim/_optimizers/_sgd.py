"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["SGD"]


class SGD(Counted, StateDtype):
    r"""Stochastic gradient descent.

    .. math::

        v_t = g_t + \mu\, v_{t-1}, \qquad
        \theta_t = \theta_{t-1} - \eta\, v_t
        \quad\text{(Nesterov: } \theta_t = \theta_{t-1} - \eta\,(g_t + \mu\, v_t)\text{)}

    Without momentum, :math:`\theta_t = \theta_{t-1} - \eta\, g_t`. Equal to
    ``optax.sgd`` and to ``torch.optim.SGD`` (``dampening=0``).

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    momentum : float, optional
        The momentum decay :math:`\mu`; ``None`` for plain SGD.
    nesterov : bool
        Use Nesterov momentum.
    accumulator_dtype : dtype, optional
        The dtype of the momentum :math:`v` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as in ``optax.sgd``. A complex
        parameter's momentum stays complex, at this precision.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``accumulator_dtype``, when
        given, still sets the momentum's. See the mixed precision guide.

    References
    ----------
    Sutskever et al., "On the importance of initialization and momentum in deep
    learning", ICML 2013.
    """

    def __init__(
        self,
        learning_rate: float,
        momentum: float | None = None,
        nesterov: bool = False,
        accumulator_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("momentum", momentum)  # None (no momentum) passes
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.trace: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        lr = self.current(self.learning_rate)
        if self.momentum is None:
            return lr * grad
        if key not in self.trace:
            dtype = moment_dtype(self.accumulator_dtype, grad)
            self.trace[key] = jnp.zeros_like(grad, dtype=dtype)
        # The step uses the momentum before it is stored in accumulator_dtype, as optax.
        trace = grad + self.momentum * self.trace[key]
        self.trace[key] = trace.astype(self.trace[key].dtype)
        if self.nesterov:
            return lr * (grad + self.momentum * trace)
        return lr * trace
