"""LARS: layer-wise adaptive rate scaling."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import norm
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["LARS"]


class LARS(Counted, StateDtype):
    r"""LARS: SGD with momentum, each parameter's step scaled by a trust ratio.

    .. math::

        g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \\
        r_t &= c\, \lVert \theta_{t-1} \rVert / (\lVert g_t \rVert + \varepsilon)
            \quad\text{(1 if either norm is 0)} \\
        v_t &= \eta\, r_t\, g_t + \mu\, v_{t-1}, \qquad
        \theta_t = \theta_{t-1} - v_t
        \quad\text{(Nesterov: } \theta_t = \theta_{t-1} - (\eta\, r_t\, g_t + \mu\, v_t)\text{)}

    The norms are taken over each parameter array (a "layer"). Equal to
    ``optax.lars`` without its masks (every parameter is decayed and scaled);
    torch.optim has no LARS.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    weight_decay : float or schedule
        :math:`\lambda`, added to the gradient before the trust ratio.
    trust_coefficient : float
        :math:`c`, the trust coefficient.
    eps : float
        :math:`\varepsilon`, added to the gradient norm.
    momentum : float
        The momentum decay :math:`\mu`.
    nesterov : bool
        Use Nesterov momentum.
    accumulator_dtype : dtype, optional
        The dtype of the momentum buffer (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as ``accumulator_dtype`` of ``optax.sgd``.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``accumulator_dtype``, when
        given, still sets the momentum's. See the mixed precision guide.

    References
    ----------
    You, Gitman & Ginsburg, "Large Batch Training of Convolutional Networks",
    arXiv:1708.03888, 2017.
    """

    def __init__(
        self,
        learning_rate: float,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
        eps: float = 0.0,
        momentum: float = 0.9,
        nesterov: bool = False,
        accumulator_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("trust_coefficient", trust_coefficient)
        check_nonnegative("eps", eps)
        check_range("momentum", momentum, 0, 1)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.trust_coefficient = trust_coefficient
        self.eps = eps
        self.momentum = momentum
        self.nesterov = nesterov
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.trace: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.trace:
            dtype = moment_dtype(self.accumulator_dtype, grad)
            self.trace[key] = jnp.zeros_like(grad, dtype=dtype)
        grad = grad + self.current(self.weight_decay) * param
        param_norm, grad_norm = norm(param), norm(grad)
        ratio = self.trust_coefficient * param_norm / (grad_norm + self.eps)
        # A zero norm (fresh zero-initialised bias, vanishing gradient) means no trust signal.
        ratio = jnp.where((param_norm == 0) | (grad_norm == 0), jnp.ones((), param.dtype), ratio)
        update = self.current(self.learning_rate) * (grad * ratio)
        # The step uses the momentum before it is stored in accumulator_dtype, as optax.sgd.
        trace = update + self.momentum * self.trace[key]
        self.trace[key] = trace.astype(self.trace[key].dtype)
        if self.nesterov:
            return update + self.momentum * trace
        return trace
