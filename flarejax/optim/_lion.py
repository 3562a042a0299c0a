"""Lion: sign of an interpolated momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._base import Optimizer
from ._checks import check_nonnegative, check_range
from ._mu_dtype import as_mu_dtype, moment_dtype
from ._patterns import Pattern, matches, normalize_patterns

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion: the sign of an interpolation of the momentum and the gradient.

    .. math::

        u_t &= \operatorname{sign}\big(\beta_1 m_{t-1} + (1 - \beta_1)\, g_t\big) \\
        m_t &= \beta_2 m_{t-1} + (1 - \beta_2)\, g_t \\
        \theta_t &= \theta_{t-1} - \eta\, (u_t + \lambda\, \theta_{t-1})

    Every coordinate moves by exactly :math:`\eta` (before decay), so Lion
    wants a learning rate 3-10x smaller than AdamW's and a larger weight decay.
    Equal to ``optax.lion``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1 : float
        Interpolation rate :math:`\beta_1` of the update.
    b2 : float
        Decay rate :math:`\beta_2` of the momentum.
    mu_dtype : dtype, optional
        The dtype of the momentum's state; ``None``: the gradient's dtype.
    weight_decay : float or schedule
        The decoupled decay rate :math:`\lambda`, scaled by the learning rate.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (glob, ``re:`` regex,
        or ``key -> bool``, e.g. ``lambda key: not key.endswith("bias")``);
        ``None``: all. (optax's ``mask`` is a tree of booleans, or a function of
        the parameters returning one.)

    References
    ----------
    Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS 2023.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.99,
        mu_dtype: Any = None,
        weight_decay: float = 1e-3,
        mask: Pattern | None = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.weight_decay = weight_decay
        self.mask = None if mask is None else normalize_patterns(mask, "mask")
        self.m: dict[str, jax.Array] = {}
        self.t = jnp.zeros((), jnp.uint32)

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.t = self.t + 1
        return grads

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
        update = jnp.sign((1 - self.b1) * grad + self.b1 * self.m[key])
        m = (1 - self.b2) * grad + self.b2 * self.m[key]
        self.m[key] = m.astype(self.m[key].dtype)
        if self.mask is None or matches(self.mask, key):
            update = update + self.current(self.weight_decay) * param
        return self.current(self.learning_rate) * update
