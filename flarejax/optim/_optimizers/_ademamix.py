"""AdEMAMix: Adam with a mixture of a fast and a slow momentum."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from .._patterns import Pattern
from ._complex import abs_sq, real_like
from ._decay import DecoupledDecay
from ._moments import Counted, debias, ema, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["AdEMAMix"]


class AdEMAMix(Counted, DecoupledDecay, StateDtype):
    r"""AdEMAMix: Adam whose numerator adds a slow, long-memory EMA of the gradients.

    .. math::

        m^{(1)}_t &= \beta_1 m^{(1)}_{t-1} + (1 - \beta_1)\, g_t, \qquad
        m^{(2)}_t = \beta_3 m^{(2)}_{t-1} + (1 - \beta_3)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\,\Big(
            \frac{m^{(1)}_t / (1 - \beta_1^t) + \alpha\, m^{(2)}_t}
            {\sqrt{v_t / (1 - \beta_2^t) + \varepsilon_{root}} + \varepsilon}
            + \lambda\, \theta_{t-1}\Big)

    The slow EMA :math:`m^{(2)}` is not bias-corrected: it fills up slowly, and
    :math:`\alpha` and :math:`\beta_3` are usually warmed up with schedules.
    Equal to ``optax.contrib.ademamix``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates of the fast EMA and of the second moment.
    b3 : float or schedule
        Decay rate :math:`\beta_3` of the slow EMA.
    alpha : float or schedule
        Weight :math:`\alpha` of the slow EMA.
    eps : float
        :math:`\varepsilon`, added to the denominator outside the square root.
    eps_root : float
        :math:`\varepsilon_{root}`, added inside the square root.
    mu_dtype : dtype, optional
        The dtype of the three moments' state; ``None``: the gradient's dtype.
        (optax 0.2.8 initializes them in ``mu_dtype`` but keeps the promoted
        dtype after the first step; the same unless ``mu_dtype`` is narrower
        than the gradient.)
    weight_decay, mask, decouple_from_lr
        Decoupled weight decay, as in :class:`AdamW`.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Pagliardini, Ablin & Grangier, "The AdEMAMix Optimizer: Better, Faster,
    Older", ICLR 2025.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.999,
        b3: float = 0.9999,
        alpha: float = 5.0,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        weight_decay: float = 0.0,
        mask: Pattern | None = None,
        *,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_range("b3", b3, 0, 1)
        check_nonnegative("alpha", alpha)
        check_nonnegative("eps", eps)
        check_nonnegative("eps_root", eps_root)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.b3 = b3
        self.alpha = alpha
        self.eps = eps
        self.eps_root = eps_root
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)
        self.m_fast: dict[str, jax.Array] = {}
        self.m_slow: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.m_fast:
            for state in (self.m_fast, self.m_slow):
                state[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            # |g|^2 is real, for complex g too.
            self.v[key] = jnp.zeros_like(real_like(grad), dtype=self.mu_dtype)
        b3 = self.current(self.b3)
        m_fast = ema(self.m_fast[key], grad, self.b1)
        m_slow = ema(self.m_slow[key], grad, b3)
        v = ema(self.v[key], abs_sq(grad), self.b2)
        m_hat = debias(m_fast, self.b1, self.t)
        v_hat = debias(v, self.b2, self.t)
        update = (m_hat + self.current(self.alpha) * m_slow) / (
            jnp.sqrt(v_hat + self.eps_root) + self.eps
        )
        self.m_fast[key] = m_fast.astype(self.m_fast[key].dtype)
        self.m_slow[key] = m_slow.astype(self.m_slow[key].dtype)
        self.v[key] = v.astype(self.v[key].dtype)
        return self.current(self.learning_rate) * self.decay(key, update, param)
