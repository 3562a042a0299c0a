"""Annealed Gaussian gradient noise."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from .._optimizers._moments import Counted

__all__ = ["AddNoise"]


class AddNoise(Counted):
    r"""Add Gaussian noise of annealed variance to the gradient.

    .. math::

        u = g + \sqrt{\eta / t^{\gamma}}\; \xi, \qquad \xi \sim \mathcal N(0, I)

    Equal to ``optax.add_noise`` with the same key: each step splits the state
    key into (next key, sample key), and the sample key into one key per
    parameter, in the model's leaf order. ``rng_key`` holds the key's raw
    ``uint32`` data (``jax.random.key_data``). torch has no built-in equivalent.

    Parameters
    ----------
    eta : float
        The base variance :math:`\eta`.
    gamma : float
        The annealing exponent :math:`\gamma` of the step count :math:`t`.
    seed : int or PRNG key
        The seed, or a key from ``jax.random.key``.

    References
    ----------
    Neelakantan et al., "Adding Gradient Noise Improves Learning for Very Deep
    Networks", 2015.
    """

    def __init__(self, eta: float, gamma: float, seed: int | jax.Array = 0) -> None:
        check_nonnegative("eta", eta)
        check_nonnegative("gamma", gamma)
        self.eta = eta
        self.gamma = gamma
        is_key = isinstance(seed, jax.Array) and jnp.issubdtype(seed.dtype, jax.dtypes.prng_key)
        key = seed if is_key else jax.random.key(seed)
        # The key's raw bits: plain uint32 state, which checkpoints as a NumPy array.
        self.rng_key = jax.random.key_data(key)
        self.impl = str(jax.random.key_impl(key))
        self.t = jnp.zeros((), jnp.int32)

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        std = jnp.sqrt(self.eta / self.t**self.gamma)
        key, sample = jax.random.split(jax.random.wrap_key_data(self.rng_key, impl=self.impl))
        self.rng_key = jax.random.key_data(key)
        keys = jax.random.split(sample, len(grads))
        return {
            k: g + std * jax.random.normal(keys[i], g.shape, g.dtype)
            for i, (k, g) in enumerate(grads.items())
        }
