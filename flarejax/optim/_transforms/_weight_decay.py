"""Adding decayed weights to the gradient (coupled L2 regularization)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._checks import check_nonnegative
from .._optimizers._moments import Counted, new_counter
from .._patterns import Pattern, matches, normalize_patterns

__all__ = ["AddDecayedWeights"]


class AddDecayedWeights(Counted):
    r"""Add the parameter, scaled by a weight decay rate, to the gradient.

    .. math::

        u = g + \lambda\, \theta

    Put it before the step-size scaling (``Chain(AddDecayedWeights(1e-4), Adam(1e-3))``
    is Adam with L2 regularization, ``torch.optim.Adam(weight_decay=...)``); put
    it after a direction and before :class:`ScaleByLearningRate` for decoupled
    decay as in AdamW. Equal to ``optax.add_decayed_weights``.

    Parameters
    ----------
    weight_decay : float or schedule
        The decay rate :math:`\lambda`, or a function of the step count.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:``
        regex, or ``key -> bool``); others pass their gradient unchanged. For
        example ``mask=lambda key: not key.endswith("bias")``.
    """

    def __init__(
        self, weight_decay: float | Callable[..., Any] = 0.0, mask: Pattern | None = None
    ) -> None:
        check_nonnegative("weight_decay", weight_decay)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if self.mask is not None and not matches(self.mask, key):
            return grad
        return grad + self.current(self.weight_decay) * param
