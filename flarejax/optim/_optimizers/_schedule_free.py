"""Schedule-Free optimizers: interpolation and averaging instead of momentum and schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_unflatten

from ..._tree import flat_keys
from .._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._moments import Counted, ema, new_counter
from ._mu_dtype import StateDtype

__all__ = ["ScheduleFree", "ScheduleFreeAdamW"]


class ScheduleFree(Counted, StateDtype):
    """The base of the Schedule-Free optimizers: the sequences :math:`y, z, x`.

    A subclass calls :meth:`init_schedule_free` in ``__init__`` and defines
    :meth:`base_step`, the direction of the base sequence :math:`z` (a step of
    the optimizer made schedule-free, before the learning rate); this class
    keeps :math:`z`, the averaging weights, and the evaluation point
    (:meth:`eval_params`), as ``optax.contrib.schedule_free`` wraps a base optimizer.
    """

    def init_schedule_free(
        self,
        learning_rate: float | Callable[[Any], Any],
        warmup_steps: int | None,
        b1: float,
        weight_lr_power: float,
        state_dtype: Any,
    ) -> None:
        """Check and store the arguments every Schedule-Free optimizer takes."""
        if warmup_steps is not None and (
            isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 1
        ):
            raise ValueError(f"warmup_steps must be None or an integer >= 1, got {warmup_steps!r}")
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1, lo_open=True, hi_open=False)
        check_nonnegative("weight_lr_power", weight_lr_power)
        self.learning_rate = learning_rate
        self.warmup_steps = warmup_steps
        self.b1 = b1
        self.weight_lr_power = weight_lr_power
        self.init_state_dtype(state_dtype)
        self.z: dict[str, jax.Array] = {}
        # Global averaging state, in float32 (optax: the parameters' lowest dtype).
        self.weight_sum = jnp.zeros((), jnp.float32)
        self.max_lr = jnp.zeros((), jnp.float32)
        self.t = new_counter()

    def compute_dtype(self, x: jax.Array) -> str | None:
        # optax's state_dtype stores z and computes in the parameter's dtype:
        # the step widens to state_dtype, never narrows.
        wide = super().compute_dtype(x)
        return None if wide is None else jnp.promote_types(wide, x.dtype).name

    def base_step(self, key: str, grad: jax.Array, param: jax.Array) -> jax.Array:
        """The direction of :math:`z` at ``param`` (:math:`y_{t-1}`), before the learning rate."""
        raise NotImplementedError

    def learning_rate_at(self, count: jax.Array) -> Any:
        """The learning rate at step ``count``, warm-up included."""
        lr = self.learning_rate(count) if callable(self.learning_rate) else self.learning_rate
        if self.warmup_steps is not None:
            # optax.warmup_constant_schedule(0, lr, warmup_steps), written as optax does.
            frac = 1 - jnp.clip(count, 0, self.warmup_steps) / self.warmup_steps
            lr = (0 - lr) * frac + lr
        return lr

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        # As in optax, the averaging weight uses the learning rate at the 1-based
        # step number, the base step (below) the one at the 0-based count.
        self.max_lr = jnp.maximum(
            self.max_lr, self.learning_rate_at(jnp.asarray(self.t, jnp.int32))
        )
        self.weight_sum = self.weight_sum + self.max_lr**self.weight_lr_power
        return grads

    def averaging_weight(self) -> jax.Array:
        """:math:`c_t`, the weight of :math:`z_t` in the average :math:`x_t`."""
        weight = self.max_lr**self.weight_lr_power
        # weight / weight_sum is 0/0 while the learning rate is still 0 (warm-up).
        return jnp.where(
            jnp.isnan(weight) | jnp.isnan(self.weight_sum),
            jnp.nan,
            jnp.nan_to_num(weight / self.weight_sum, nan=0.0, posinf=jnp.inf),
        )

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.z:
            self.z[key] = param.astype(self.state_dtype or param.dtype)
        step = self.base_step(key, grad, param)
        gamma = self.learning_rate_at(jnp.asarray(self.t, jnp.int32) - 1)
        z_prev = self.z[key]
        z = (z_prev + -gamma * step).astype(z_prev.dtype)
        self.z[key] = z
        c = self.averaging_weight()
        x = (param - (1.0 - self.b1) * z_prev) / self.b1
        x = (1.0 - c) * x + c * z
        y = self.b1 * x + (1.0 - self.b1) * z
        return param - y

    def eval_params(self, model: Any) -> Any:
        r"""``model`` with its parameters at the evaluation point :math:`x_t`.

        :math:`x_t = (y_t - (1 - \beta_1) z_t) / \beta_1`, for every parameter
        the optimizer has state for (others are returned unchanged), in the
        parameter's dtype. Use it for validation and for the final model; keep
        training from ``model`` itself. Equal to
        ``optax.contrib.schedule_free_eval_params``.
        """
        keys, leaves, treedef = flat_keys(model)
        out = []
        for key, y in zip(keys, leaves):
            if key in self.z:
                y = ((y - (1.0 - self.b1) * self.z[key]) / self.b1).astype(y.dtype)
            out.append(y)
        return tree_unflatten(treedef, out)


class ScheduleFreeAdamW(ScheduleFree):
    r"""Schedule-Free AdamW.

    The parameters the optimizer updates are the gradient points :math:`y_t`;
    it keeps the base sequence :math:`z_t` and recovers the averaged sequence
    :math:`x_t` (the one to evaluate) from the two:

    .. math::

        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2, \qquad
        z_t = z_{t-1} - \gamma_{t-1} \Big(\frac{g_t}{\sqrt{v_t / (1 - \beta_2^t)}
        + \varepsilon} + \lambda\, y_{t-1}\Big) \\
        c_t &= \frac{\hat\gamma_t^{\,p}}{\sum_{i \le t} \hat\gamma_i^{\,p}}, \qquad
        \hat\gamma_t = \max_{i \le t} \gamma_i \\
        x_t &= (1 - c_t)\, x_{t-1} + c_t\, z_t, \qquad
        x_{t-1} = \big(y_{t-1} - (1 - \beta_1) z_{t-1}\big) / \beta_1 \\
        y_t &= \beta_1 x_t + (1 - \beta_1)\, z_t

    with :math:`z_0 = y_0` (the parameters at the first step), :math:`g_t` the
    gradient at :math:`y_{t-1}`, and :math:`\gamma_t` the learning rate, warmed
    up linearly from 0 over ``warmup_steps`` (as in optax, the averaging weight
    uses the learning rate of the next step count). Evaluate the model at
    :math:`x_t`: ``opt.eval_params(model)``. Equal to
    ``optax.contrib.schedule_free_adamw`` (``schedule_free_eval_params`` for
    the evaluation point). ``torch.optim`` has none; the authors' PyTorch package
    (``schedulefree.AdamWScheduleFree``) differs in where the bias correction
    and :math:`\varepsilon` enter.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\gamma` (a schedule should be constant after a warm-up, not decay).
    warmup_steps : int, optional
        Length of a linear warm-up of the learning rate from 0.
    b1 : float
        :math:`\beta_1 \in (0, 1]`, the interpolation between :math:`x` and :math:`z`.
    b2 : float
        :math:`\beta_2`, the decay of the second moment.
    eps : float
        :math:`\varepsilon`, added outside the square root.
    weight_decay : float or schedule
        :math:`\lambda`, decoupled, applied at :math:`y` and scaled by the learning rate.
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
        learning_rate: float | Callable[[Any], Any] = 0.0025,
        warmup_steps: int | None = None,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float | Callable[[Any], Any] = 0.0,
        weight_lr_power: float = 2.0,
        state_dtype: Any = None,
    ) -> None:
        self.init_schedule_free(learning_rate, warmup_steps, b1, weight_lr_power, state_dtype)
        check_range("b2", b2, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("weight_decay", weight_decay)
        self.b2 = b2
        self.eps = eps
        self.weight_decay = weight_decay
        self.v: dict[str, jax.Array] = {}

    def base_step(self, key: str, grad: jax.Array, param: jax.Array) -> jax.Array:
        """Adam's unaveraged direction plus the decay at :math:`y`."""
        if key not in self.v:
            self.v[key] = real_like(grad)  # |g|^2 is real, for complex g too
        v = ema(self.v[key], abs_sq(grad), self.b2)
        self.v[key] = v
        v_hat = v / (1 - self.b2**self.t).astype(v.dtype)
        return 1 / (jnp.sqrt(v_hat) + self.eps) * grad + self.current(self.weight_decay) * param
