"""RMSProp, optionally centered, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["RMSProp"]


class RMSProp(Counted, StateDtype):
    r"""RMSProp: divide the gradient by a running root mean square of past gradients.

    .. math::

        \nu_t &= \rho\, \nu_{t-1} + (1 - \rho)\, |g_t|^2, \qquad
        \mu_t = \rho\, \mu_{t-1} + (1 - \rho)\, g_t \quad\text{(centered only)} \\
        u_t &= \eta\, g_t / \sqrt{\nu_t - \mu_t^2 + \varepsilon}
            \quad\text{(} \mu_t = 0 \text{ unless centered)} \\
        v_t &= u_t + \beta\, v_{t-1}, \qquad
        \theta_t = \theta_{t-1} - v_t
        \quad\text{(Nesterov: } \theta_t = \theta_{t-1} - (u_t + \beta\, v_t)\text{)}

    Without momentum, :math:`\theta_t = \theta_{t-1} - u_t`. With
    ``eps_in_sqrt=False`` the denominator is :math:`\sqrt{\nu_t - \mu_t^2} +
    \varepsilon`; with ``bias_correction`` :math:`\nu_t, \mu_t` are divided by
    :math:`1 - \rho^t`. Equal to ``optax.rmsprop``. ``torch.optim.RMSprop`` puts
    :math:`\varepsilon` outside the square root (``eps_in_sqrt=False``) and applies
    :math:`\eta` after the momentum buffer rather than inside it.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    decay : float
        The decay rate :math:`\rho` of the running averages.
    eps : float
        :math:`\varepsilon`, added to the denominator.
    initial_scale : float
        :math:`\nu_0`, the starting value of the mean square.
    eps_in_sqrt : bool
        Add :math:`\varepsilon` inside the square root (else outside).
    centered : bool
        Subtract the squared running mean of the gradients: divide by an estimate
        of their standard deviation rather than their root mean square.
    momentum : float, optional
        The momentum decay :math:`\beta`; ``None`` for no momentum.
    nesterov : bool
        Use Nesterov momentum.
    bias_correction : bool
        Divide the running averages by :math:`1 - \rho^t`.
    accumulator_dtype : dtype, optional
        The dtype of the momentum buffer :math:`v` (default: the gradient's),
        e.g. ``jnp.float32`` for bfloat16 parameters, as in ``optax.sgd``.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``accumulator_dtype``, when
        given, still sets the momentum's. See the mixed precision guide.

    References
    ----------
    Tieleman & Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural Networks for
    Machine Learning, 2012; Graves, "Generating Sequences With Recurrent Neural
    Networks", arXiv:1308.0850, 2013 (the centered form).
    """

    def __init__(
        self,
        learning_rate: float,
        decay: float = 0.9,
        eps: float = 1e-8,
        initial_scale: float = 0.0,
        eps_in_sqrt: bool = True,
        centered: bool = False,
        momentum: float | None = None,
        nesterov: bool = False,
        bias_correction: bool = False,
        accumulator_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("decay", decay, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("initial_scale", initial_scale)
        check_range("momentum", momentum, 0, 1)
        self.learning_rate = learning_rate
        self.decay = decay
        self.eps = eps
        self.initial_scale = initial_scale
        self.eps_in_sqrt = eps_in_sqrt
        self.centered = centered
        self.momentum = momentum
        self.nesterov = nesterov
        self.bias_correction = bias_correction
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.nu: dict[str, jax.Array] = {}
        self.mu: dict[str, jax.Array] = {}
        self.trace: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def _build(self, key: str, grad: jax.Array) -> None:
        if key not in self.nu:
            self.nu[key] = real_like(grad, self.initial_scale)  # |g|^2 is real
            if self.centered:
                self.mu[key] = jnp.zeros_like(grad)
            if self.momentum is not None:
                dtype = moment_dtype(self.accumulator_dtype, grad)
                self.trace[key] = jnp.zeros_like(grad, dtype=dtype)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad)
        decay = self.decay
        # 1 - decay**t in float32: in bfloat16 it would round to 0 for small t.
        correction = (1 - decay**self.t).astype(grad.dtype) if self.bias_correction else 1
        self.nu[key] = (1 - decay) * abs_sq(grad) + decay * self.nu[key]
        variance = self.nu[key] / correction
        if self.centered:
            self.mu[key] = (1 - decay) * grad + decay * self.mu[key]
            variance = variance - abs_sq(self.mu[key] / correction)
        if self.eps_in_sqrt:
            scale = jax.lax.rsqrt(variance + self.eps)
        else:
            scale = 1 / (jnp.sqrt(variance) + self.eps)
        update = self.current(self.learning_rate) * (scale * grad)
        if self.momentum is None:
            return update
        # As in optax, the learning rate is inside the momentum buffer.
        # The step uses the momentum before it is stored in accumulator_dtype, as optax.sgd.
        trace = update + self.momentum * self.trace[key]
        self.trace[key] = trace.astype(self.trace[key].dtype)
        if self.nesterov:
            return update + self.momentum * trace
        return trace
