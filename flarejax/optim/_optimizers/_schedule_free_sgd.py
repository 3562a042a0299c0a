"""Schedule-Free SGD."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._checks import check_nonnegative
from ._schedule_free import ScheduleFree

__all__ = ["ScheduleFreeSGD"]


class ScheduleFreeSGD(ScheduleFree):
    r"""Schedule-Free SGD.

    The sequences of :class:`ScheduleFreeAdamW` around a plain gradient step:

    .. math::

        z_t &= z_{t-1} - \gamma_{t-1}\, \big(g_t + \lambda\, y_{t-1}\big) \\
        x_t &= (1 - c_t)\, x_{t-1} + c_t\, z_t, \qquad
        y_t = \beta_1 x_t + (1 - \beta_1)\, z_t

    with :math:`c_t` the averaging weight, :math:`z_0 = y_0` and :math:`g_t`
    the gradient at :math:`y_{t-1}`, all as in :class:`ScheduleFreeAdamW`. The
    interpolation :math:`\beta_1` takes the place of momentum and the averaging
    that of a decaying schedule. Evaluate the model at :math:`x_t`:
    ``opt.eval_params(model)``. Equal to ``optax.contrib.schedule_free_sgd``
    (``schedule_free_eval_params`` for the evaluation point); torch.optim has
    none.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\gamma` (a schedule should be constant after a warm-up, not decay).
    warmup_steps : int, optional
        Length of a linear warm-up of the learning rate from 0.
    b1 : float
        :math:`\beta_1 \in (0, 1]`, the interpolation between :math:`x` and :math:`z`.
    weight_decay : float or schedule, optional
        :math:`\lambda`, added to the gradient at :math:`y` (``None``: no decay).
    weight_lr_power : float
        :math:`p`: later steps (larger learning rates, after a warm-up) weigh
        more in the average.
    state_dtype : dtype, optional
        The dtype of :math:`z` (default: the parameter's), as optax's. One wider
        than the parameters' (``jnp.float32`` for bfloat16 parameters) is also
        the dtype of the other state and of the step's arithmetic, the update
        being cast once to the parameter's dtype (see the mixed precision
        guide); a narrower one stores :math:`z` only, as optax does.

    References
    ----------
    Defazio et al., "The Road Less Scheduled", NeurIPS 2024, arXiv:2405.15682.
    """

    def __init__(
        self,
        learning_rate: float | Callable[[Any], Any] = 1.0,
        warmup_steps: int | None = None,
        b1: float = 0.9,
        weight_decay: float | Callable[[Any], Any] | None = None,
        weight_lr_power: float = 2.0,
        state_dtype: Any = None,
    ) -> None:
        self.init_schedule_free(learning_rate, warmup_steps, b1, weight_lr_power, state_dtype)
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay

    def base_step(self, key: str, grad: jax.Array, param: jax.Array) -> jax.Array:
        """The gradient, plus the decay at :math:`y`."""
        if self.weight_decay is None:
            return grad
        return grad + self.current(self.weight_decay) * param
