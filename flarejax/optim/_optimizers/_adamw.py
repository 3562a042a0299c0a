"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._patterns import Pattern
from ._adam import Adam
from ._decay import DecoupledDecay

__all__ = ["AdamW"]


class AdamW(Adam, DecoupledDecay):
    r"""Adam with decoupled weight decay.

    .. math::

        \theta_t = \theta_{t-1} - \eta\,\big(\hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}}
        + \varepsilon) + \lambda\, \theta_{t-1}\big)

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam`. The decay uses the
    parameter, not the gradient, and is scaled by the learning rate, as in
    ``optax.adamw`` (equal to it) and ``torch.optim.AdamW``.

    Every optimizer with decoupled weight decay (:class:`AdamaxW`,
    :class:`NAdamW`, :class:`LAMB`, :class:`Lion`, :class:`Adan`,
    :class:`AdEMAMix`, ...) takes ``weight_decay``, ``mask`` and
    ``decouple_from_lr`` below, as here.

    Parameters
    ----------
    learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`Adam`.
    weight_decay : float or schedule
        The decay rate :math:`\lambda`, or a function of the step count.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:`` regex,
        or ``key -> bool``, e.g. ``lambda key: not key.endswith("bias")``);
        ``None``: all. (optax's ``mask`` is a tree of booleans, or a function of
        the parameters returning one.)
    decouple_from_lr : bool
        Fully decoupled decay: scale :math:`\lambda` by the learning-rate
        schedule's multiplier :math:`\eta_t / \eta_0` instead of by
        :math:`\eta_t`, so that the step subtracts
        :math:`\eta_t\, \hat m_t / (\ldots) + (\eta_t / \eta_0)\, \lambda\, \theta_{t-1}`
        (:math:`\eta_0`, the first step's learning rate, must be positive).
        :math:`\lambda` is then a decay per step, independent of the learning
        rate, as Loshchilov & Hutter define it.

    References
    ----------
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    # All of its lazy state is built by build_state (init need not trace the step).
    builds_state_by_key = True

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
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.decay(key, self.direction(key, grad), param)
        return self.current(self.learning_rate) * update
