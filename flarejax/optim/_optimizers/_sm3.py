"""SM3: memory-efficient adaptive optimization."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import reject_complex
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["SM3"]

# optax.sm3 fixes these: no decay of the accumulators, and this epsilon.
_EPS = 1e-8


class SM3(Counted, StateDtype):
    r"""SM3: Adagrad whose sum of squares is bounded by one accumulator per axis.

    For a parameter with :math:`k \ge 2` axes, accumulator :math:`a^{(r)}` has
    one entry per index of axis :math:`r`:

    .. math::

        \nu_t &= g_t^2 + \min_r a^{(r)}_{t-1} \quad\text{(broadcast over the other axes)} \\
        a^{(r)}_t &= \max_{\text{axes} \ne r} \nu_t \\
        m_t &= \beta\, m_{t-1} + (1 - \beta)\, g_t / \sqrt{\nu_t + \varepsilon}
            \quad\text{(0 where } \nu_t = 0\text{)} \\
        \theta_t &= \theta_{t-1} - \eta\, m_t

    so the state is :math:`\sum_r n_r` numbers instead of :math:`\prod_r n_r`.
    Vectors and scalars keep a full accumulator (plain Adagrad). Equal to
    ``optax.sm3`` (:math:`\varepsilon = 10^{-8}`), which fails on scalar
    parameters; torch.optim has no SM3.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    momentum : float
        The decay rate :math:`\beta` of the moving average of the scaled gradients.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. See the mixed precision guide.

    References
    ----------
    Anil, Gupta, Koren & Singer, "Memory-Efficient Adaptive Optimization",
    NeurIPS 2019.
    """

    def __init__(
        self,
        learning_rate: float,
        momentum: float = 0.9,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("momentum", momentum, 0, 1)
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.accumulators: dict[str, list[jax.Array]] = {}
        self.m: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "its accumulators are element-wise minima, as optax.sm3")
        ndim = grad.ndim
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad)
            if ndim < 2:
                self.accumulators[key] = [jnp.zeros_like(grad)]
            else:
                self.accumulators[key] = [jnp.zeros(n, grad.dtype) for n in grad.shape]
        acc = self.accumulators[key]
        if ndim < 2:
            nu = grad**2 + acc[0]
        else:
            # Each accumulator bounds every sum of squares along its axis; use the tightest.
            along = [
                a.reshape([-1 if i == r else 1 for i in range(ndim)]) for r, a in enumerate(acc)
            ]
            nu = grad**2 + functools.reduce(jnp.minimum, along)
        scaled = grad * jnp.where(nu > 0, jax.lax.rsqrt(nu + _EPS), 0.0)
        self.m[key] = (1 - self.momentum) * scaled + self.momentum * self.m[key]
        if ndim < 2:
            self.accumulators[key] = [nu]
        else:
            others = [tuple(i for i in range(ndim) if i != r) for r in range(ndim)]
            self.accumulators[key] = [jnp.max(nu, axis=axes) for axes in others]
        return self.current(self.learning_rate) * self.m[key]
