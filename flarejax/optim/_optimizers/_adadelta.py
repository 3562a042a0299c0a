"""Adadelta."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["Adadelta"]


class Adadelta(Counted, StateDtype):
    r"""Adadelta: step sizes from the ratio of past update and gradient magnitudes.

    .. math::

        g_t &\leftarrow g_t + \lambda\, \theta_{t-1} \\
        E[g^2]_t &= \rho\, E[g^2]_{t-1} + (1 - \rho)\, |g_t|^2 \\
        \Delta_t &= \sqrt{E[\Delta^2]_{t-1} + \varepsilon} \,/\, \sqrt{E[g^2]_t + \varepsilon}
            \; g_t \\
        E[\Delta^2]_t &= \rho\, E[\Delta^2]_{t-1} + (1 - \rho)\, \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \Delta_t

    Equal to ``optax.adadelta`` with a learning rate, and to ``torch.optim.Adadelta``
    (whose default learning rate is 1.0). With ``learning_rate=None`` the step is
    :math:`\Delta_t` itself (:math:`\eta = 1`, as in the paper); optax 0.2.8 then
    leaves out its sign flip and *ascends* the gradient.
    For complex parameters the averages are of :math:`|g_t|^2` and
    :math:`|\Delta_t|^2` (real); optax 0.2.8 squares without conjugating there.

    Parameters
    ----------
    learning_rate : float or schedule, optional
        The step size :math:`\eta`, or a function of the step count; ``None`` for 1.
    rho : float
        The decay rate :math:`\rho` of both running averages.
    eps : float
        :math:`\varepsilon`, added inside both square roots.
    weight_decay : float or schedule
        :math:`\lambda`, an L2 penalty added to the gradient (coupled, as in torch).
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701, 2012.
    """

    def __init__(
        self,
        learning_rate: float | None = None,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("rho", rho, 0, 1, hi_open=False)
        check_nonnegative("eps", eps)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
        self.e_g: dict[str, jax.Array] = {}
        self.e_x: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.e_g:
            # Averages of |g|^2 and |delta|^2: real, for complex parameters too.
            self.e_g[key] = real_like(grad)
            self.e_x[key] = real_like(grad)
        grad = grad + self.current(self.weight_decay) * param
        rho, eps = self.rho, self.eps
        self.e_g[key] = (1 - rho) * abs_sq(grad) + rho * self.e_g[key]
        delta = jnp.sqrt(self.e_x[key] + eps) / jnp.sqrt(self.e_g[key] + eps) * grad
        self.e_x[key] = (1 - rho) * abs_sq(delta) + rho * self.e_x[key]
        if self.learning_rate is None:
            return delta
        return self.current(self.learning_rate) * delta
