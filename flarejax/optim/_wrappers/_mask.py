"""Selecting which parameters an optimizer updates: ``Freeze`` and ``Masked``."""

from __future__ import annotations

from typing import Any

import jax

from .._base import Optimizer
from .._patterns import Pattern, matches, normalize_patterns
from .._substep import substep

__all__ = ["Freeze", "Masked"]


class Freeze(Optimizer):
    r"""Give no update to the parameters whose key matches; pass the others through.

    .. math::

        u_p = \begin{cases} \text{none} & p \text{ matches} \\ g_p & \text{otherwise} \end{cases}

    First in a :class:`Chain`, frozen parameters get no state in the later
    members either. Moves the parameters as ``optax.freeze`` does (which zeroes
    their updates instead); torch: ``requires_grad_(False)``.

    Parameters
    ----------
    patterns : pattern(s) or function of the key
        Which dotted keys to freeze: glob (``"encoder.*"``), ``re:`` regex, a
        list of them, or ``key -> bool``.
    """

    def __init__(self, patterns: Pattern) -> None:
        self.patterns = normalize_patterns(patterns, "patterns")

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array | None]:
        return {k: None if matches(self.patterns, k) else g for k, g in grads.items()}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad


class Masked(Optimizer):
    r"""Run ``opt`` on the matching parameters only; the others pass their gradient unchanged.

    .. math::

        u_p = \begin{cases} \mathrm{opt}(g)_p & p \text{ matches} \\
        g_p & \text{otherwise} \end{cases}

    ``opt`` keeps state for the matching parameters only. Equal to
    ``optax.masked`` with the equivalent boolean mask; usually a member of a
    :class:`Chain`, e.g. ``Masked(AddDecayedWeights(1e-4), "*.kernel")``. To give
    different parameters different optimizers, see :class:`Partition`.

    Parameters
    ----------
    opt : Optimizer
        The masked optimizer.
    mask : pattern(s) or function of the key
        Which dotted keys go through ``opt``: glob, ``re:`` regex, a list of
        them, or ``key -> bool``.
    """

    def __init__(self, opt: Optimizer, mask: Pattern) -> None:
        self.opt = opt
        self.mask = normalize_patterns(mask, "mask")

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        inside = [k for k in grads if matches(self.mask, k)]
        updates = substep(
            self.opt, {k: grads[k] for k in inside}, {k: params[k] for k in inside}, extras
        )
        return {k: updates.get(k, g) for k, g in grads.items()}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
