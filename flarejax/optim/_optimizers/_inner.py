"""The inner product of two gradient-like dicts, over all their parameters."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["tree_vdot"]


def tree_vdot(a: dict[str, jax.Array], b: dict[str, jax.Array]) -> jax.Array:
    """:math:`\\sum_k \\langle a_k, b_k \\rangle` over the keys, at full precision, as optax."""
    total: Any = 0
    for key in a:
        total = total + jnp.vdot(a[key], b[key], precision=lax.Precision.HIGHEST)
    return jnp.asarray(total)
