"""Cautious: drop the update components that point against the gradient."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._substep import substep

__all__ = ["Cautious"]


class Cautious(Optimizer):
    r"""Zero the components of ``opt``'s update whose sign disagrees with the gradient.

    .. math::

        u_t &= \mathrm{opt}(g_t), \qquad
        \phi_t = \mathbb{1}\big[\operatorname{Re}(u_t\, \bar g_t) > 0\big] \\
        \theta_t &= \theta_{t-1} - \frac{n}{\sum \phi_t + \varepsilon}\, \phi_t \odot u_t

    element-wise, per parameter of :math:`n` elements: a component of the update
    (which is subtracted) that would increase the loss to first order is
    dropped, and the others are scaled up so that the update keeps about its
    size. For real parameters :math:`\operatorname{Re}(u \bar g) = u g`.
    ``opt`` is any flarejax optimizer (a :class:`Chain` too); its state stays in
    it (``cautious.opt.m``). Around :class:`Lion` (``weight_decay=0``) this is
    the authors' ``C-Lion`` (``tests/optim/test_cautious.py`` runs it); their
    ``C-AdamW`` masks the momentum, which has the sign of the Adam direction,
    and rescales by ``1 / max(mean(mask), 1e-3)`` in its latest version. Unlike
    theirs, the mask here also covers a decoupled weight decay inside ``opt``'s
    update. optax and torch have no equivalent.

    Parameters
    ----------
    opt : Optimizer
        The optimizer whose updates are masked.
    eps : float
        :math:`\varepsilon` in the rescaling :math:`n / (\sum \phi + \varepsilon)`;
        the reference's ``mask.numel() / (mask.sum() + 1)`` is ``eps=1.0``.

    References
    ----------
    Liang, Chen, Liu & Liu, "Cautious Optimizers: Improving Training with One
    Line of Code", arXiv:2411.16085, 2024 (code: github.com/kyleliang919/C-Optim).
    """

    def __init__(self, opt: Optimizer, eps: float = 1.0) -> None:
        if not isinstance(opt, Optimizer):
            raise ValueError(f"opt must be an Optimizer, got {type(opt).__name__}")
        check_nonnegative("eps", eps)
        self.opt = opt
        self.eps = eps

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        return {key: self._mask(u, grads[key]) for key, u in updates.items()}

    def _mask(self, update: jax.Array | None, grad: jax.Array | None) -> jax.Array | None:
        if update is None or grad is None:
            return update
        # Re(u conj(g)) > 0: u and g point the same way (for real ones, u * g > 0).
        agree = jnp.real(update * jnp.conj(grad)) > 0
        scale = update.size / (jnp.sum(agree) + self.eps)
        # The scale in the update's (real) precision, as the reference's mask has the
        # gradient's dtype: a bfloat16 update stays bfloat16.
        scale = scale.astype(jnp.real(update).dtype)
        return jnp.where(agree, update * scale, jnp.zeros_like(update))

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
