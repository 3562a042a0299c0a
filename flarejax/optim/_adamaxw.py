"""AdamaxW: Adamax with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax

from ._adamax import Adamax
from ._checks import check_nonnegative
from ._patterns import Pattern, matches, normalize_patterns

__all__ = ["AdamaxW"]


class AdamaxW(Adamax):
    r"""Adamax with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\Big(\frac{m_t / (1 - \beta_1^t)}{u_t}
        + \lambda\, \theta_{t-1}\Big)

    with :math:`m_t, u_t` as in :class:`Adamax`. Equal to ``optax.adamaxw``.

    Parameters
    ----------
    learning_rate, b1, b2, eps, mu_dtype
        As in :class:`Adamax`.
    weight_decay : float or schedule
        The decay rate :math:`\lambda`, scaled by the learning rate.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:`` regex,
        or ``key -> bool``, e.g. ``lambda key: not key.endswith("bias")``);
        ``None``: all. (optax's ``mask`` is a tree of booleans, or a function of
        the parameters returning one.)

    References
    ----------
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 1e-4,
        mask: Pattern | None = None,
        mu_dtype: Any = None,
    ) -> None:
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(learning_rate, b1, b2, eps, mu_dtype)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.direction(key, grad)
        if self.mask is None or matches(self.mask, key):
            update = update + self.current(self.weight_decay) * param
        return self.current(self.learning_rate) * update
