"""Adafactor: adaptive steps with factored second moments."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_nonnegative, check_positive, check_range
from ._complex import abs_sq, real_like
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["Adafactor"]


class Adafactor(Counted, StateDtype):
    r"""Adafactor: RMS scaling with a rank-1 (row times column) second moment.

    For a matrix gradient (the two largest axes of an array with at least two,
    both of size ``min_dim_size_to_factor`` or more) only row and column means
    of :math:`|g_t|^2` are kept:

    .. math::

        \hat\beta_t &= 1 - t^{-c} \\
        R_t &= \hat\beta_t R_{t-1}
            + (1 - \hat\beta_t)\, \operatorname{mean}_{cols}(|g_t|^2 + \epsilon_1) \\
        C_t &= \hat\beta_t C_{t-1}
            + (1 - \hat\beta_t)\, \operatorname{mean}_{rows}(|g_t|^2 + \epsilon_1) \\
        u_t &= g_t \,/\, \sqrt{R_t C_t^\top / \operatorname{mean}(R_t)}

    Other parameters keep a full :math:`V_t = \hat\beta_t V_{t-1} + (1 -
    \hat\beta_t)(|g_t|^2 + \epsilon_1)` and :math:`u_t = g_t / \sqrt{V_t}`. Then
    :math:`u_t` is divided by :math:`\max(1, \operatorname{RMS}(u_t)/d)`, scaled by
    :math:`\eta` and by :math:`\max(\operatorname{RMS}(\theta_{t-1}), 10^{-3})`,
    averaged with ``momentum`` and added to :math:`\lambda\, \theta_{t-1}`:
    :math:`\theta_t = \theta_{t-1} - u_t`. Equal to ``optax.adafactor`` (without
    ``weight_decay_mask``). ``torch.optim.Adafactor`` differs: relative step
    sizes, :math:`\epsilon` outside the square of the gradient, and no clipping
    or momentum.

    Parameters
    ----------
    learning_rate : float or schedule, optional
        :math:`\eta`, or a function of the step count; ``None`` for 1.
    min_dim_size_to_factor : int
        Factor only arrays whose two largest axes have at least this size.
    decay_rate : float
        :math:`c`, the exponent of the second-moment decay :math:`1 - t^{-c}`.
    decay_offset : int
        Subtracted from the step count in :math:`\hat\beta_t` (for fine-tuning).
    multiply_by_parameter_scale : bool
        Scale the step by the parameter's RMS (a relative step size).
    clipping_threshold : float, optional
        :math:`d`, the largest RMS of the scaled gradient; ``None`` for no clipping.
    momentum : float, optional
        Decay of an exponential moving average of the updates; ``None`` for none.
    dtype_momentum : dtype
        The dtype of the momentum state.
    weight_decay_rate : float or schedule, optional
        :math:`\lambda`, weight decay added after the scaling (not multiplied by
        :math:`\eta`); ``None`` for none.
    eps : float
        :math:`\epsilon_1`, added to the squared gradient.
    factored : bool
        Use factored second moments where the shape allows.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``dtype_momentum`` still
        sets the momentum's. See the mixed precision guide.

    References
    ----------
    Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory
    Cost", ICML 2018.
    """

    def __init__(
        self,
        learning_rate: float | None = None,
        min_dim_size_to_factor: int = 128,
        decay_rate: float = 0.8,
        decay_offset: int = 0,
        multiply_by_parameter_scale: bool = True,
        clipping_threshold: float | None = 1.0,
        momentum: float | None = None,
        dtype_momentum: Any = jnp.float32,
        weight_decay_rate: float | None = None,
        eps: float = 1e-30,
        factored: bool = True,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_positive("min_dim_size_to_factor", min_dim_size_to_factor)
        check_nonnegative("decay_rate", decay_rate)
        check_nonnegative("decay_offset", decay_offset)
        check_positive("clipping_threshold", clipping_threshold)
        check_range("momentum", momentum, 0, 1)
        check_nonnegative("weight_decay_rate", weight_decay_rate)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.min_dim_size_to_factor = min_dim_size_to_factor
        self.decay_rate = decay_rate
        self.decay_offset = decay_offset
        self.multiply_by_parameter_scale = multiply_by_parameter_scale
        self.clipping_threshold = clipping_threshold
        self.momentum = momentum
        # Its name, so that it is static in the PyTree (a dtype class would pass for a schedule).
        self.dtype_momentum = as_mu_dtype(dtype_momentum, "dtype_momentum")
        self.weight_decay_rate = weight_decay_rate
        self.eps = eps
        self.factored = factored
        self.v_row: dict[str, jax.Array] = {}
        self.v_col: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}
        self.m: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def factored_dims(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        """The (second largest, largest) axes to factor over, or ``None``."""
        if not self.factored or len(shape) < 2:
            return None
        order = np.argsort(shape)
        if shape[order[-2]] < self.min_dim_size_to_factor:
            return None
        return int(order[-2]), int(order[-1])

    def scale_by_factored_rms(self, key: str, grad: jax.Array) -> jax.Array:
        """:math:`g_t` divided by the (factored) root mean square estimate."""
        dims = self.factored_dims(grad.shape)
        steps = jnp.asarray(self.t, jnp.int32) - self.decay_offset
        decay = 1.0 - steps.astype(jnp.float32) ** (-self.decay_rate)
        grad_sqr = abs_sq(grad) + self.eps  # real, for complex g too
        real = jnp.real(grad).dtype
        if dims is None:
            if key not in self.v:
                self.v[key] = real_like(grad)
            self.v[key] = (decay * self.v[key] + (1.0 - decay) * grad_sqr).astype(real)
            return grad * self.v[key] ** -0.5
        d_row, d_col = dims  # rows are indexed along d_row; averaging runs along d_col
        if key not in self.v_row:
            self.v_row[key] = jnp.zeros(tuple(np.delete(grad.shape, d_col)), real)
            self.v_col[key] = jnp.zeros(tuple(np.delete(grad.shape, d_row)), real)
        v_row = decay * self.v_row[key] + (1.0 - decay) * grad_sqr.mean(axis=d_col)
        v_col = decay * self.v_col[key] + (1.0 - decay) * grad_sqr.mean(axis=d_row)
        self.v_row[key], self.v_col[key] = v_row.astype(real), v_col.astype(real)
        row_axis = d_row - 1 if d_row > d_col else d_row
        row_mean = self.v_row[key].mean(axis=row_axis, keepdims=True)
        row_factor = (self.v_row[key] / row_mean) ** -0.5
        col_factor = self.v_col[key] ** -0.5
        return grad * jnp.expand_dims(row_factor, d_col) * jnp.expand_dims(col_factor, d_row)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.scale_by_factored_rms(key, grad)
        if self.clipping_threshold is not None:
            rms = jnp.sqrt(jnp.mean(abs_sq(update)))
            update = update / jnp.maximum(1.0, rms / self.clipping_threshold)
        if self.learning_rate is not None:
            update = self.current(self.learning_rate) * update
        if self.multiply_by_parameter_scale:
            # A floor of 1e-3 (optax's), so that zero-initialised parameters still move.
            rms = jnp.sqrt(jnp.mean(abs_sq(param)))
            update = update * jnp.where(rms <= 1e-3, 1e-3, rms)
        if self.momentum is not None:
            if key not in self.m:
                self.m[key] = jnp.zeros(grad.shape, moment_dtype(self.dtype_momentum, grad))
            update = (1 - self.momentum) * update + self.momentum * self.m[key]
            self.m[key] = update.astype(self.m[key].dtype)
        if self.weight_decay_rate is not None:
            update = update + self.current(self.weight_decay_rate) * param
        return update
