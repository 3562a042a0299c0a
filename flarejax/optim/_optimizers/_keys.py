"""Random keys of the optimizers that sample (noise, random signs, stochastic rounding)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["as_key"]


def as_key(key: int | jax.Array) -> jax.Array:
    """A typed JAX key from a seed, a typed key, or a raw ``uint32[2]`` key."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if np.ndim(key) == 0:
        return jax.random.key(key)
    return jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))
