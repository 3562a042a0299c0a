"""Clipping the updates: element-wise, by their global norm, or block by block."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .._base import Optimizer
from .._checks import check_nonnegative, check_positive
from .._optimizers._complex import abs_sq, reject_complex, sum_abs_sq

__all__ = ["Clip", "ClipByBlockRMS", "ClipByGlobalNorm"]


class Clip(Optimizer):
    r"""Clip every element of the update to :math:`[-\delta, \delta]`.

    .. math::

        u = \operatorname{clip}(g, -\delta, \delta)

    Equal to ``optax.clip``; ``torch.nn.utils.clip_grad_value_`` does the same
    to ``.grad`` in place.

    Parameters
    ----------
    max_delta : float
        The largest absolute value :math:`\delta` of an element.
    """

    def __init__(self, max_delta: float) -> None:
        check_nonnegative("max_delta", max_delta)
        self.max_delta = max_delta

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        # An element-wise clip of the real and imaginary parts would turn the phase.
        reject_complex(
            self, key, grad, "it clips element-wise; ClipByBlockRMS or ClipByGlobalNorm do not"
        )
        return jnp.clip(grad, -self.max_delta, self.max_delta)


class ClipByGlobalNorm(Optimizer):
    r"""Rescale all the updates together when their global norm exceeds a maximum.

    .. math::

        \|g\| = \Big(\sum_{p} \|g_p\|_2^2\Big)^{1/2}, \qquad
        u_p = g_p \cdot \min\big(1, c / \|g\|\big)

    Equal to ``optax.clip_by_global_norm`` (a norm exactly :math:`c` is scaled,
    by 1); ``torch.nn.utils.clip_grad_norm_`` divides by :math:`\|g\| + 10^{-6}`.

    After a step, ``opt.norm`` is the global norm :math:`\|g\|` it measured
    before clipping (float32), what ``clip_grad_norm_`` returns: read it
    eagerly, or from the optimizer a jitted step returns.

    Parameters
    ----------
    max_norm : float
        The largest global norm :math:`c`.

    References
    ----------
    Pascanu et al., "On the difficulty of training recurrent neural networks",
    ICML 2013.
    """

    def __init__(self, max_norm: float) -> None:
        check_positive("max_norm", max_norm)
        self.max_norm = max_norm
        self.norm = jnp.zeros((), jnp.float32)

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        # Summed leaf by leaf in the model's order, as optax.tree.norm does.
        sq = sum((sum_abs_sq(g) for g in grads.values()), 0)
        norm = jnp.sqrt(sq)
        # float32 whatever the gradients' dtype: the state keeps one structure.
        self.norm = jnp.asarray(norm, jnp.float32)
        keep = jnp.squeeze(norm < self.max_norm)
        return {
            k: lax.select(keep, g, ((g / norm.astype(g.dtype)) * self.max_norm).astype(g.dtype))
            for k, g in grads.items()
        }


class ClipByBlockRMS(Optimizer):
    r"""Rescale each parameter's update whose root mean square exceeds a threshold.

    .. math::

        u_p = g_p / \max\big(1, \operatorname{rms}(g_p) / \tau\big)

    Equal to ``optax.clip_by_block_rms``; torch has no built-in equivalent.
    After a step, ``opt.rms[key]`` is the root mean square
    :math:`\operatorname{rms}(g_p)` it measured before clipping (float32).

    Parameters
    ----------
    threshold : float
        The largest root mean square :math:`\tau` of a parameter's update.
    """

    def __init__(self, threshold: float) -> None:
        check_positive("threshold", threshold)
        self.threshold = threshold
        self.rms: dict[str, jax.Array] = {}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        rms = jnp.sqrt(jnp.mean(abs_sq(grad)))
        self.rms[key] = jnp.asarray(rms, jnp.float32)
        return grad / jnp.maximum(1.0, rms / self.threshold)
