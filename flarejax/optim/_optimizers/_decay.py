"""Decoupled weight decay, as every ``*W`` optimizer (and Lion, LAMB, Adan, AdEMAMix) applies it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._patterns import Pattern, matches, normalize_patterns

__all__ = ["DecoupledDecay"]


class DecoupledDecay(Optimizer):
    r"""Mixin: decoupled weight decay :math:`\lambda\,\theta` added to a direction.

    A subclass calls :meth:`init_decay` in ``__init__`` and returns
    ``lr * self.decay(key, direction, param)`` from ``call_param``: the decay is
    then scaled by the learning rate :math:`\eta_t`, as in ``optax.adamw`` and
    ``torch.optim.AdamW``. With ``decouple_from_lr=True`` the decay is
    :math:`\lambda / \eta_0` instead, so that the step decays the parameter by
    :math:`(\eta_t / \eta_0)\, \lambda\, \theta`: by the schedule's multiplier
    only, not by the learning rate itself (Loshchilov & Hutter's :math:`\lambda`;
    "fully decoupled" weight decay). :math:`\eta_0` is the learning rate of the
    first step (the schedule at count 0), which must then be positive.
    """

    def init_decay(
        self,
        weight_decay: float | Callable[..., Any],
        mask: Pattern | None,
        decouple_from_lr: bool,
    ) -> None:
        """Check and store ``weight_decay``, ``mask`` and ``decouple_from_lr``."""
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")
        self.decouple_from_lr = bool(decouple_from_lr)

    def decay(self, key: str, direction: jax.Array, param: jax.Array) -> jax.Array:
        """``direction`` plus the decay of ``param`` (unless the mask excludes ``key``)."""
        if self.mask is not None and not matches(self.mask, key):
            return direction
        weight_decay = self.current(self.weight_decay)
        if self.decouple_from_lr:
            weight_decay = weight_decay / self.initial_learning_rate()
        return direction + weight_decay * param

    def initial_learning_rate(self) -> Any:
        """:math:`\\eta_0`: the learning rate, or its schedule at count 0."""
        lr = self.learning_rate  # type: ignore[attr-defined]
        return lr(jnp.zeros((), jnp.int32)) if callable(lr) else lr
