"""DP-SGD: SGD on per-example gradients, clipped and noised for differential privacy."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._batch_axis import batch_size
from ._complex import sum_abs_sq
from ._keys import as_key
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["DPSGD"]


class DPSGD(Counted, StateDtype):
    r"""DP-SGD: per-example gradients clipped to a norm, summed, noised, averaged; then SGD.

    With :math:`B` per-example gradients :math:`g_t^{(b)}` (each over all
    parameters together), the clipping norm :math:`C` and noise multiplier
    :math:`\sigma`:

    .. math::

        \bar g_t &= \frac{1}{B} \Big( \sum_{b=1}^{B}
            \min\big(1, C / \lVert g_t^{(b)} \rVert\big)\, g_t^{(b)}
            + \sigma C\, \xi_t \Big), \qquad \xi_t \sim \mathcal N(0, I) \\
        \mu_t &= \beta\, \mu_{t-1} + \bar g_t \quad\text{(with momentum; Nesterov:
            } \bar g_t + \beta \mu_t \text{)} \\
        \theta_t &= \theta_{t-1} - \eta\, \mu_t

    **The gradients passed to a step are per-example**: every gradient has a
    leading batch axis of size :math:`B`, e.g. from :func:`jax.vmap` over the
    batch of :func:`jax.grad` of a one-example loss::

        def loss_one(model, x, y):  # one example
            return (model["w"] @ x + model["b"] - y) ** 2

        per_example = jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0))
        model = opt(model, per_example(model, xs, ys))  # grads: (B, *shape) each

    A gradient without that axis is a ``ValueError`` naming the parameter
    (``opt.minimize``, whose gradient is already averaged, raises it too). In a
    :class:`Chain` it comes first (the members after it see the aggregated
    gradient). :class:`PerExampleGlobalNormClip` is its clipping alone.
    The random state ``key`` is a JAX key, split at every step into the next
    key and one sample key per parameter (in the model's leaf order), exactly
    as optax does: the noise equals optax's for the same ``seed``. Equal to
    ``optax.contrib.dpsgd`` (with ``momentum``, ``optax.trace``); torch.optim
    has no DP-SGD (Opacus provides it). The privacy accounting (the
    :math:`(\varepsilon, \delta)` a run spends) is not part of the optimizer.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    l2_norm_clip : float
        :math:`C`, the largest norm of one example's gradient.
    noise_multiplier : float
        :math:`\sigma`, the noise's standard deviation relative to :math:`C`.
    seed : int or jax key
        The seed of the noise, or a key (typed, or a raw ``uint32[2]`` key).
    momentum : float, optional
        :math:`\beta`; ``None`` for plain SGD.
    nesterov : bool
        Nesterov's momentum.
    state_dtype : dtype, optional
        The dtype of the momentum and of the step's arithmetic, clipping and
        noise included (default: the gradients'); the update is cast once to
        the parameter's dtype, e.g. ``jnp.float32`` for bfloat16 parameters.
        See the mixed precision guide.

    References
    ----------
    Abadi, Chu, Goodfellow, McMahan, Mironov, Talwar & Zhang, "Deep Learning with
    Differential Privacy", ACM CCS 2016 (arXiv:1607.00133).
    """

    def __init__(
        self,
        learning_rate: float,
        l2_norm_clip: float,
        noise_multiplier: float,
        seed: int | jax.Array,
        momentum: float | None = None,
        nesterov: bool = False,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("l2_norm_clip", l2_norm_clip)
        check_nonnegative("noise_multiplier", noise_multiplier)
        if momentum is not None:
            check_range("momentum", momentum, 0, 1)
        self.learning_rate = learning_rate
        self.l2_norm_clip = l2_norm_clip
        self.noise_multiplier = noise_multiplier
        self.momentum = momentum
        self.nesterov = nesterov
        self.key = as_key(seed)
        self.trace: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def takes_per_example_grads(self) -> bool:
        """True: every gradient has a leading batch axis, one slice per example."""
        return True

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **_: Any
    ) -> dict[str, jax.Array]:
        """Clip each example's gradient to ``l2_norm_clip``, sum, add noise, divide by B."""
        grads = super().call_model(grads)
        if not grads:
            return grads
        # One noise key per parameter in the model's leaf order (that of params), as optax.
        order = [key for key in params if key in grads]
        batch = batch_size(self, {key: grads[key] for key in order}, params)
        norms = jnp.sqrt(sum(jax.vmap(sum_abs_sq)(grads[key]) for key in order))
        # An all-zero example has a NaN ratio: it is kept as it is (multiplier 1), as optax.
        multipliers = jnp.nan_to_num(jnp.minimum(self.l2_norm_clip / norms, 1.0), nan=1.0)
        std = self.l2_norm_clip * self.noise_multiplier
        self.key, *sample_keys = jax.random.split(self.key, len(order) + 1)
        out = {}
        for key, k in zip(order, sample_keys):
            clipped = jnp.tensordot(multipliers, grads[key], axes=1)
            noise = jax.random.normal(k, clipped.shape, clipped.dtype)
            out[key] = (clipped + std * noise) / batch
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if self.momentum is not None:
            if key not in self.trace:
                self.trace[key] = jnp.zeros_like(grad)
            self.trace[key] = (grad + self.momentum * self.trace[key]).astype(grad.dtype)
            nesterov = grad + self.momentum * self.trace[key]
            grad = nesterov if self.nesterov else self.trace[key]
        return self.current(self.learning_rate) * grad
