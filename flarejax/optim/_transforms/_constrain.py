"""Keeping the parameters non-negative."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._optimizers._complex import reject_complex

__all__ = ["KeepParamsNonnegative"]


class KeepParamsNonnegative(Optimizer):
    r"""Shorten the updates that would make a parameter negative, so it stops at zero.

    .. math::

        u = \begin{cases} \theta & \theta - g < 0 \\ g & \text{otherwise} \end{cases}

    Put it last in a :class:`Chain` (it sees the final update). A parameter that
    is already negative is moved to zero. Equal to ``optax.keep_params_nonnegative``;
    torch has no built-in equivalent (``p.data.clamp_(min=0)`` after the step).
    """

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, param, "a complex number is not ordered")
        return jnp.where(param - grad < 0.0, param, grad)
