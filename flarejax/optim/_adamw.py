"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from ._adam import Adam
from ._checks import check_nonnegative
from ._patterns import Pattern, matches, normalize_patterns

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""Adam with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big(\hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}}
        + \varepsilon) + \lambda\, \theta_{t-1}\big)

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam`. The decay uses the
    parameter, not the gradient, and is scaled by the learning rate, as in
    ``optax.adamw`` (equal to it) and ``torch.optim.AdamW``.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype
        As in :class:`Adam`.
    weight_decay : float or schedule
        The decay rate :math:`\lambda`, or a function of the step count.
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
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        weight_decay: float | Callable[..., Any] = 1e-4,
        mask: Pattern | None = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype)
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.direction(key, grad)
        if self.mask is None or matches(self.mask, key):
            update = update + self.current(self.weight_decay) * param
        return self.current(self.learning_rate) * update
