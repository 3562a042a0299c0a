"""Rprop: resilient backpropagation."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive, check_range
from ._complex import reject_complex
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["Rprop"]


class Rprop(Counted, StateDtype):
    r"""Rprop: per-coordinate step sizes adapted from sign agreement; magnitudes ignored.

    .. math::

        s_t &= \begin{cases}
            \min(\eta_+ s_{t-1}, s_{max}) & g_{t-1} g_t > 0 \\
            \max(\eta_- s_{t-1}, s_{min}) \text{ and } g_t \leftarrow 0 & g_{t-1} g_t < 0 \\
            s_{t-1} & \text{otherwise}
        \end{cases} \\
        \theta_t &= \theta_{t-1} - s_t \operatorname{sign}(g_t)

    with :math:`s_0 = \eta` and :math:`g_0 = 0`; after a sign change the step is
    skipped and the stored gradient is 0, so the next step does not shrink again.
    These are the semantics of ``torch.optim.Rprop`` (which also clips
    :math:`s_t` to :math:`[s_{min}, s_{max}]` when the sign product is 0, as done
    here). ``optax.rprop`` (0.2.8) computes the same step sizes but applies each
    step one call late: its first update is zero, and its update :math:`t` is this
    class's update :math:`t - 1`, dropped where the sign changes at :math:`t`.

    Parameters
    ----------
    learning_rate : float or schedule
        The initial step size :math:`\eta` (a schedule is read once, when a
        parameter's state is built).
    eta_minus, eta_plus : float
        The factors :math:`0 < \eta_- < 1 < \eta_+` that shrink and grow the steps.
    min_step_size, max_step_size : float
        The bounds :math:`s_{min} \le s_{max}` of the step sizes.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation
    Learning: The RPROP Algorithm", ICNN 1993.
    """

    def __init__(
        self,
        learning_rate: float,
        eta_minus: float = 0.5,
        eta_plus: float = 1.2,
        min_step_size: float = 1e-6,
        max_step_size: float = 50.0,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_positive("learning_rate", learning_rate)
        check_range("eta_minus", eta_minus, 0, 1, lo_open=True)
        check_range("eta_plus", eta_plus, 1, float("inf"), lo_open=True)
        check_nonnegative("min_step_size", min_step_size)
        check_range("max_step_size", max_step_size, min_step_size, float("inf"), hi_open=False)
        self.learning_rate = learning_rate
        self.eta_minus = eta_minus
        self.eta_plus = eta_plus
        self.min_step_size = min_step_size
        self.max_step_size = max_step_size
        self.step_size: dict[str, jax.Array] = {}
        self.prev_grad: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "it compares the signs of successive gradients")
        if key not in self.step_size:
            self.step_size[key] = jnp.full_like(grad, self.current(self.learning_rate))
            self.prev_grad[key] = jnp.zeros_like(grad)
        agreement = jnp.sign(grad * self.prev_grad[key])
        factor = jnp.where(
            agreement > 0, self.eta_plus, jnp.where(agreement < 0, self.eta_minus, 1)
        )
        step = jnp.clip(self.step_size[key] * factor, self.min_step_size, self.max_step_size)
        self.step_size[key] = step.astype(grad.dtype)
        # After a sign change, skip the step and forget the gradient.
        grad = jnp.where(agreement < 0, 0, grad)
        self.prev_grad[key] = grad
        return self.step_size[key] * jnp.sign(grad)
