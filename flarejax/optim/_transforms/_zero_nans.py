"""Replacing NaNs in the gradient by zeros."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer

__all__ = ["ZeroNans"]


class ZeroNans(Optimizer):
    r"""Replace every NaN in the gradient by zero.

    .. math::

        u = \begin{cases} 0 & g \text{ is NaN} \\ g & \text{otherwise} \end{cases}

    ``found_nan[key]`` says whether the last step found a NaN in that
    parameter's gradient. Equal to ``optax.zero_nans``; torch has no built-in
    equivalent (``torch.nan_to_num`` on ``.grad`` by hand). Infinities pass
    unchanged: see :class:`SkipNonFinite` to skip such steps instead.
    """

    def __init__(self) -> None:
        self.found_nan: dict[str, jax.Array] = {}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        nan = jnp.isnan(grad)
        self.found_nan[key] = jnp.any(nan)
        return jnp.where(nan, jnp.zeros_like(grad), grad)
