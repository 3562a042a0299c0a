"""LAMB: Adam with a layer-wise trust ratio."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._adam import Adam
from ._checks import check_nonnegative, check_range
from ._complex import norm
from ._patterns import Pattern, matches, normalize_patterns

__all__ = ["LAMB"]


class LAMB(Adam):
    r"""LAMB: Adam with weight decay, rescaled per parameter by a trust ratio.

    .. math::

        u_t &= \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon)
            + \lambda\, \theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\lVert \theta_{t-1} \rVert}
            {\lVert u_t \rVert}\, u_t

    with :math:`\hat m_t, \hat v_t` as in :class:`Adam` and Frobenius norms per
    parameter; the ratio is 1 when either norm is zero. Each layer then moves by
    :math:`\eta` relative to its own norm, which keeps large-batch training
    stable. Equal to ``optax.lamb``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first and second moments.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root.
    weight_decay : float or schedule
        The decay rate :math:`\lambda`, added to the update before the trust ratio.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:`` regex,
        or ``key -> bool``, e.g. ``lambda key: not key.endswith("bias")``);
        ``None``: all. The trust ratio applies to every parameter. (optax's
        ``mask`` is a tree of booleans, or a function of the parameters
        returning one.)

    References
    ----------
    You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76
    minutes", ICLR 2020.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-6,
        eps_root: float = 0.0,
        weight_decay: float = 0.0,
        mask: Pattern | None = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("eps_root", eps_root)
        check_nonnegative("weight_decay", weight_decay)
        super().__init__(learning_rate, b1, b2, eps, eps_root)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.direction(key, grad)
        if self.mask is None or matches(self.mask, key):
            update = update + self.current(self.weight_decay) * param
        param_norm, update_norm = norm(param), norm(update)
        # A zero norm (e.g. a zero-initialized bias) would stop the parameter forever.
        zero = (param_norm == 0) | (update_norm == 0)
        trust_ratio = jnp.where(zero, jnp.ones((), param.dtype), param_norm / update_norm)
        return self.current(self.learning_rate) * (trust_ratio * update)
