"""Clipping per-example gradients, then summing them: the step of DP-SGD."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._optimizers._batch_axis import batch_size
from .._optimizers._complex import abs_sq

__all__ = ["PerExampleGlobalNormClip", "PerExampleLayerNormClip"]


def _per_example_sq(g: jax.Array) -> jax.Array:
    """Each example's squared norm of ``g``, shape ``(batch,)``."""
    return jnp.sum(abs_sq(g), axis=tuple(range(1, g.ndim)))


def _clipped_sum(g: jax.Array, norms: jax.Array, clip: Any) -> tuple[jax.Array, jax.Array]:
    """Sum over the batch of ``g`` scaled by ``min(1, clip / norm)``, and how many were clipped."""
    # clip / 0 is inf (kept: min 1) and 0 / 0 is NaN (kept too), as optax.
    factor = jnp.nan_to_num(jnp.minimum(clip / norms, 1.0), nan=1.0)
    summed = jnp.tensordot(factor.astype(jnp.real(g).dtype), g, axes=1)
    return summed.astype(g.dtype), jnp.sum(factor < 1.0).astype(jnp.int32)


class PerExampleGlobalNormClip(Optimizer):
    r"""Clip each example's gradient to a global norm, then sum over the batch.

    The gradients must have a **leading batch axis**: the gradient of parameter
    :math:`p` has shape ``(batch, *p.shape)``, one slice per example, as
    ``jax.vmap(jax.grad(loss), in_axes=(None, 0))(model, batch)`` gives. The
    update has the parameter's shape:

    .. math::

        \|g^{(i)}\| = \Big(\sum_p \|g^{(i)}_p\|_2^2\Big)^{1/2}, \qquad
        u_p = \sum_i \min\big(1, C / \|g^{(i)}\|\big)\, g^{(i)}_p

    a sum, not a mean: follow it with ``Scale(1 / batch)``, or add noise
    (:class:`AddNoise`) first, as DP-SGD does. ``num_clipped`` holds how many
    examples the last step clipped. Only first in a :class:`Chain` (the members
    after it see gradients of the parameters' shapes); Equal to the sum that
    ``optax.per_example_global_norm_clip`` returns (a function in optax); torch:
    ``opacus``.

    Parameters
    ----------
    l2_norm_clip : float
        :math:`C`, the largest global norm of one example's gradient.

    References
    ----------
    Abadi et al., "Deep Learning with Differential Privacy", CCS 2016.
    """

    def __init__(self, l2_norm_clip: float) -> None:
        check_nonnegative("l2_norm_clip", l2_norm_clip)
        self.l2_norm_clip = l2_norm_clip
        self.num_clipped = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **_: Any
    ) -> dict[str, jax.Array]:
        batch_size(self, grads, params)
        norms = jnp.sqrt(sum((_per_example_sq(g) for g in grads.values()), 0))
        out = {}
        for key, g in grads.items():
            out[key], self.num_clipped = _clipped_sum(g, norms, self.l2_norm_clip)
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def takes_per_example_grads(self) -> bool:
        """True: the gradients have a leading batch axis."""
        return True


class PerExampleLayerNormClip(Optimizer):
    r"""Clip each example's gradient parameter by parameter, then sum over the batch.

    As :class:`PerExampleGlobalNormClip` (gradients with a **leading batch
    axis**, shape ``(batch, *p.shape)``; the update is a sum over the batch),
    but each of the :math:`K` parameters ("layers") is clipped on its own, to

    .. math::

        C_p = C / \sqrt{K} \ (\text{uniform}) \quad\text{or}\quad
        C_p = C \sqrt{D_p / D}, \qquad
        u_p = \sum_i \min\big(1, C_p / \|g^{(i)}_p\|_2\big)\, g^{(i)}_p

    where :math:`D_p` is the size of parameter :math:`p` and :math:`D` the
    total over the parameters this optimizer steps, so that an example's
    clipped gradient has global norm at most :math:`C`. ``num_clipped[key]``
    holds how many examples the last step clipped for each parameter. Equal to
    the sum that ``optax.per_example_layer_norm_clip`` returns (a function in
    optax).

    Parameters
    ----------
    global_l2_norm_clip : float
        :math:`C`, the overall clip norm.
    uniform : bool
        The same share :math:`C / \sqrt{K}` for every parameter (default), or a
        share growing with the parameter's size.

    References
    ----------
    McMahan et al., "Learning Differentially Private Recurrent Language
    Models", ICLR 2018.
    """

    def __init__(self, global_l2_norm_clip: float, uniform: bool = True) -> None:
        check_nonnegative("global_l2_norm_clip", global_l2_norm_clip)
        self.global_l2_norm_clip = global_l2_norm_clip
        self.uniform = uniform
        self.num_clipped: dict[str, jax.Array] = {}

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **_: Any
    ) -> dict[str, jax.Array]:
        batch_size(self, grads, params)
        total = sum(params[k].size for k in grads)
        out = {}
        for key, g in grads.items():
            share = 1.0 / len(grads) if self.uniform else params[key].size / total
            clip = self.global_l2_norm_clip * share**0.5
            out[key], self.num_clipped[key] = _clipped_sum(g, jnp.sqrt(_per_example_sq(g)), clip)
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def takes_per_example_grads(self) -> bool:
        """True: the gradients have a leading batch axis."""
        return True
