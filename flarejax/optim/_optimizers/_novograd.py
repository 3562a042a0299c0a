"""NovoGrad: momentum on gradients normalized by a layer-wise second moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._complex import norm
from ._moments import AdaptiveMoments, ema
from ._mu_dtype import moment_dtype

__all__ = ["NovoGrad"]


class NovoGrad(AdaptiveMoments):
    r"""NovoGrad: SGD momentum on gradients normalized per layer.

    .. math::

        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, \lVert g_t \rVert^2
            \quad (v_1 = \lVert g_1 \rVert^2) \\
        m_t &= \beta_1 m_{t-1} + \frac{g_t}{\sqrt{v_t + \varepsilon_{root}} + \varepsilon}
            + \lambda\, \theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, m_t

    :math:`v_t` is one scalar per parameter (the squared Frobenius norm of its
    gradient), so the state is about half of Adam's. The weight decay enters the
    momentum. Equal to ``optax.novograd``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1 : float
        Decay rate :math:`\beta_1` of the momentum (which is not damped by
        :math:`1 - \beta_1`).
    b2 : float
        Decay rate :math:`\beta_2` of the layer-wise second moment.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root.
    weight_decay : float or schedule
        The decay rate :math:`\lambda`.
    mu_dtype : dtype, optional
        The dtype of the first moment :math:`m` (default: the gradient's), e.g.
        ``jnp.float32`` for bfloat16 parameters, as ``mu_dtype`` of ``optax.adam``.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Ginsburg et al., "Stochastic Gradient Methods with Layer-wise Adaptive
    Moments for Training of Deep Networks", 2019, arXiv:1905.11286.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.25,
        eps: float = 1e-6,
        eps_root: float = 0.0,
        weight_decay: float = 0.0,
        mu_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay

    def _build(self, key: str, grad: jax.Array, initial: float = 0.0) -> None:
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            self.v[key] = jnp.zeros((), jnp.real(grad).dtype)  # ||g||^2 is real, one per layer

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        self._build(key, grad)
        sq_norm = norm(grad) ** 2  # as optax: the square of the norm, not a sum of squares
        # The first step starts v at ||g||^2 rather than decaying it from zero.
        self.v[key] = jnp.where(self.t == 1, sq_norm, ema(self.v[key], sq_norm, self.b2))
        step = grad / (jnp.sqrt(self.v[key] + self.eps_root) + self.eps)
        step = step + self.current(self.weight_decay) * param
        self.m[key] = (self.b1 * self.m[key] + step).astype(self.m[key].dtype)
        return self.current(self.learning_rate) * self.m[key]
