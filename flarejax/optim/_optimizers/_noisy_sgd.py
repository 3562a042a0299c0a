"""Noisy SGD: gradient descent with annealed Gaussian gradient noise."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._keys import as_key
from ._moments import Counted, new_counter

__all__ = ["NoisySGD"]


class NoisySGD(Counted):
    r"""SGD on gradients with added Gaussian noise whose variance decays over time.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big(g_t + \sigma_t\, \xi_t\big), \qquad
        \sigma_t^2 = \frac{\eta_{noise}}{t^{\gamma}}, \quad \xi_t \sim \mathcal N(0, I)

    The random state is a JAX key, split once per step into the next key and one
    sample key per parameter (in the model's leaf order), exactly as
    ``optax.noisy_sgd`` does: the noise is equal to optax's for the same key.
    torch.optim has no noisy SGD.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    eta : float
        :math:`\eta_{noise}`, the initial variance of the noise.
    gamma : float
        :math:`\gamma`, the decay exponent of the variance.
    key : int or jax key, optional
        The seed, or a key (typed, or a raw ``uint32[2]`` key); ``None`` for 0.

    References
    ----------
    Neelakantan et al., "Adding Gradient Noise Improves Learning for Very Deep
    Networks", arXiv:1511.06807, 2015.
    """

    def __init__(
        self,
        learning_rate: float,
        eta: float = 0.01,
        gamma: float = 0.55,
        key: int | jax.Array | None = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("eta", eta)
        check_nonnegative("gamma", gamma)
        self.learning_rate = learning_rate
        self.eta = eta
        self.gamma = gamma
        self.key = as_key(0 if key is None else key)
        self.t = new_counter()

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        std = jnp.sqrt(self.eta / self.t.astype(jnp.float32) ** self.gamma)
        self.key, sample_key = jax.random.split(self.key)
        keys = jax.random.split(sample_key, len(grads))
        return {
            name: grad + std * jax.random.normal(k, grad.shape, grad.dtype)
            for (name, grad), k in zip(grads.items(), keys)
        }

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return self.current(self.learning_rate) * grad
