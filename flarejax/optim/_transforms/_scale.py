"""Scaling the updates by a constant or by the learning rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._optimizers._moments import Counted, new_counter

__all__ = ["Scale", "ScaleByLearningRate"]


class Scale(Optimizer):
    r"""Multiply the update by a constant.

    .. math::

        u = s\, g

    Equal to ``optax.scale`` on the quantity flowing through a chain. Mind the
    sign at the end of a chain: flarejax *subtracts* the final update, so a
    descent step is ``Scale(lr)`` where optax writes ``optax.scale(-lr)``, and
    ``Scale(-1.0)`` turns descent into ascent.

    Parameters
    ----------
    step_size : float
        The factor :math:`s`.
    """

    def __init__(self, step_size: float) -> None:
        self.step_size = step_size

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.step_size * grad


class ScaleByLearningRate(Counted):
    r"""Multiply the update by the (possibly scheduled) learning rate.

    .. math::

        u = \eta_t\, g

    flarejax subtracts updates, so this multiplies by :math:`+\eta_t` where
    ``optax.scale_by_learning_rate`` (``flip_sign=True``) multiplies by
    :math:`-\eta_t`; the parameters move the same way. It ends a chain built
    from directions, e.g. ``Chain(ClipByGlobalNorm(1.0), ScaleByLearningRate(sched))``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    """

    def __init__(self, learning_rate: float | Callable[..., Any]) -> None:
        check_nonnegative("learning_rate", learning_rate)
        self.learning_rate = learning_rate
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        # A scheduled rate is a float32 array: cast it, so bfloat16 updates stay bfloat16.
        return jnp.asarray(self.current(self.learning_rate), grad.dtype) * grad
