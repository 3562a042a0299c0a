"""Fromage: Frobenius matched gradient descent."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._complex import norm
from ._moments import Counted, new_counter

__all__ = ["Fromage"]


class Fromage(Counted):
    r"""Fromage: steps of relative size :math:`\eta` in each parameter's norm.

    .. math::

        \theta_t = \frac{1}{\sqrt{1 + \eta^2}} \Big(\theta_{t-1}
            - \eta\, \frac{\lVert \theta_{t-1} \rVert}{\lVert g_t \rVert}\, g_t\Big)

    with each norm at least ``min_norm`` (a ratio of 1 if either is 0). The
    :math:`1/\sqrt{1 + \eta^2}` factor keeps the parameter norms from growing.
    Equal to ``optax.fromage``; torch.optim has no Fromage.

    Parameters
    ----------
    learning_rate : float or schedule
        The relative step size :math:`\eta`, or a function of the step count.
    min_norm : float
        The smallest norm used for a parameter or a gradient.

    References
    ----------
    Bernstein, Vahdat, Yue & Liu, "On the distance between two neural networks
    and the stability of learning", NeurIPS 2020.
    """

    def __init__(self, learning_rate: float, min_norm: float = 1e-6) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("min_norm", min_norm)
        self.learning_rate = learning_rate
        self.min_norm = min_norm
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        param_norm = jnp.maximum(norm(param), self.min_norm)
        grad_norm = jnp.maximum(norm(grad), self.min_norm)
        ratio = param_norm / grad_norm
        ratio = jnp.where((param_norm == 0) | (grad_norm == 0), jnp.ones((), param.dtype), ratio)
        lr = self.current(self.learning_rate)
        shrink = 1 / (1 + lr**2) ** 0.5
        # theta - shrink * (theta - lr * ratio * g), written as a step to subtract.
        return lr * shrink * (grad * ratio) + (1 - shrink) * param
