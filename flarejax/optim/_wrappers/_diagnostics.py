"""Per-step statistics of any optimizer, for logging: gradient and update norms, ratios."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._optimizers._complex import sum_abs_sq
from .._substep import substep

__all__ = ["Diagnostics"]


def _sq(x: jax.Array) -> jax.Array:
    # Summed in at least float32: a bfloat16 sum of squares loses the norm's digits.
    wide = jnp.promote_types(x.dtype, jnp.float32)
    return sum_abs_sq(x.astype(wide)).astype(jnp.float32)


def _total(squares: Iterable[jax.Array]) -> jax.Array:
    return jnp.sqrt(sum(squares, jnp.zeros((), jnp.float32)))


class Diagnostics(Optimizer):
    r"""Record, at each step of ``opt``, the norms a training log shows.

    .. math::

        \|g\| = \Big(\sum_p \|g_p\|_2^2\Big)^{1/2}, \qquad
        \|u\| = \Big(\sum_p \|u_p\|_2^2\Big)^{1/2}, \qquad
        r_p = \|u_p\|_2 / \|\theta_p\|_2

    with :math:`g` the gradients the step receives (before any clipping
    inside ``opt``), :math:`u` the updates it subtracts and :math:`\theta`
    the parameters before the step. After a step they are ``opt.grad_norm``,
    ``opt.update_norm`` and ``opt.ratio[key]`` (float32 scalars; a ratio is 0
    where the update is, and infinite for a zero parameter that moves), and
    :meth:`stats` gathers them in one dict. Read them eagerly, or from the
    optimizer a jitted step returns::

        @jax.jit
        def step(opt, model, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
            model = opt(model, grads)
            return opt, model, loss, opt.stats()

    Training is unchanged. Opt-in: an optimizer not wrapped computes none
    of this. ``torch.nn.utils.clip_grad_norm_`` returns :math:`\|g\|`;
    the clipping transforms keep their own measure (``ClipByGlobalNorm.norm``).

    Parameters
    ----------
    opt : Optimizer
        The optimizer whose steps are measured (a :class:`Chain` too).
    ratios : bool
        Record the per-parameter ratios :math:`r_p` (one reduction per
        parameter); ``False`` keeps the two global norms only.
    """

    def __init__(self, opt: Optimizer, ratios: bool = True) -> None:
        self.opt = opt
        self.ratios = ratios
        self.grad_norm = jnp.zeros((), jnp.float32)
        self.update_norm = jnp.zeros((), jnp.float32)
        self.ratio: dict[str, jax.Array] = {}

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        self.grad_norm = _total(_sq(g) for g in grads.values())
        updates = substep(self.opt, grads, params, extras)
        squares = {k: _sq(u) for k, u in updates.items() if u is not None}
        self.update_norm = _total(squares.values())
        if self.ratios:
            for key, u_sq in squares.items():
                p_sq = _sq(params[key])
                self.ratio[key] = jnp.where(u_sq == 0, 0.0, jnp.sqrt(u_sq / p_sq))
        return updates

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def stats(self) -> dict[str, jax.Array]:
        """``{"grad_norm": ..., "update_norm": ..., "ratio/<key>": ...}``, for a logger."""
        out = {"grad_norm": self.grad_norm, "update_norm": self.update_norm}
        out.update({f"ratio/{k}": v for k, v in sorted(self.ratio.items())})
        return out
