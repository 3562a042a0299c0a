"""MoMo and MoMo-Adam: momentum with a Polyak-type step size built from the loss."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import reject_complex
from ._inner import tree_vdot
from ._moments import AdaptiveMoments, Counted, ema, new_counter
from ._mu_dtype import StateDtype

__all__ = ["MoMo", "MoMoAdam"]

_NO_LOSS = (
    "{name} needs the loss value: call opt(model, grads, loss=loss) "
    "or opt.minimize(loss_fn, model, ...)"
)


def _check_lower_bound(value: Any) -> None:
    # A lower bound of the loss may be any real number, but it must be one.
    check_range("lower_bound", value, -math.inf, math.inf, lo_open=True)


class _MoMoBase(Counted):
    """The scalar state and the Polyak step both variants share."""

    barf: jax.Array
    gamma: jax.Array
    lb: jax.Array
    learning_rate: Any

    def _init_scalars(self, lower_bound: Any, weight_decay: Any, adapt_lower_bound: bool) -> None:
        _check_lower_bound(lower_bound)
        check_nonnegative("weight_decay", weight_decay)
        self.lower_bound = lower_bound
        self.weight_decay = weight_decay
        self.adapt_lower_bound = adapt_lower_bound
        # The model's average loss, its average <g, theta>, and the current bound.
        self.barf = jnp.zeros((), jnp.float32)
        self.gamma = jnp.zeros((), jnp.float32)
        self.lb = jnp.asarray(lower_bound, jnp.float32)
        self.t = new_counter()

    def _loss(self, loss: Any, params: dict[str, jax.Array]) -> jax.Array:
        for key, p in params.items():
            reject_complex(self, key, p, "its step size is a real inner product")
        if loss is None:
            raise TypeError(_NO_LOSS.format(name=type(self).__name__))
        return jnp.asarray(loss, self.barf.dtype)

    def _polyak_step(
        self,
        direction: dict[str, jax.Array],
        norm_sq: jax.Array,
        iprod: jax.Array,
        params: dict[str, jax.Array],
        bc1: Any,
    ) -> dict[str, jax.Array]:
        """The decay and the Polyak step along ``direction``, updating the lower bound.

        ``norm_sq`` is the step's denominator, ``iprod`` the momentum's inner
        product with the parameters, ``bc1`` the first moment's bias correction
        (1 for MoMo, whose averages start at the first values).
        """
        alpha = self.current(self.learning_rate)
        weight_decay = self.current(self.weight_decay)
        mu = 1 + alpha * weight_decay
        lb = self.lb
        if self.adapt_lower_bound:
            cap = mu * (self.barf - self.gamma) + iprod
            lb = jnp.where(
                cap < mu * bc1 * self.lb, jnp.maximum(cap / (2 * bc1 * mu), self.lower_bound), lb
            )
        t1 = jnp.maximum(mu * (self.barf - bc1 * lb - self.gamma) + iprod, 0.0) / norm_sq
        t1 = jnp.where(norm_sq <= jnp.finfo(float).eps, 0.0, t1)
        tau = jnp.minimum(alpha / bc1, t1)
        if self.adapt_lower_bound:
            new_lb = ((self.barf + iprod - self.gamma) - 0.5 * tau * norm_sq) / bc1
            self.lb = jnp.maximum(new_lb, self.lower_bound).astype(self.lb.dtype)
        shrink = alpha * weight_decay / mu
        return {key: shrink * params[key] + tau * direction[key] for key in direction}

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        # call_model makes the whole update: the step size is global.
        return grad


class MoMo(_MoMoBase, StateDtype):
    r"""MoMo: SGD with momentum and a Polyak-type step size from a model of the loss.

    With :math:`\beta_1 = 0` at the first step (the averages start at the first
    values) and :math:`\beta_t = \beta` after it, the loss :math:`f_t`, and
    :math:`\mu = 1 + \eta\lambda`:

    .. math::

        \bar f_t &= \beta_t \bar f_{t-1} + (1 - \beta_t)\, f_t \\
        d_t &= \beta_t d_{t-1} + (1 - \beta_t)\, g_t \\
        \gamma_t &= \beta_t \gamma_{t-1} + (1 - \beta_t)\, \langle g_t, \theta_{t-1} \rangle \\
        \tau_t &= \min\Big(\eta,\ \frac{\max\big(\mu\,(\bar f_t - f^\star - \gamma_t)
            + \langle d_t, \theta_{t-1}\rangle,\ 0\big)}{\lVert d_t \rVert^2}\Big)
            \quad (0 \text{ when } \lVert d_t \rVert^2 \le \text{machine epsilon}) \\
        \theta_t &= \theta_{t-1} - \frac{\eta\lambda}{\mu}\, \theta_{t-1} - \tau_t\, d_t

    The inner products and the norm are over all parameters together. The loss
    :math:`f_t` is the ``loss=`` extra (``opt(model, grads, loss=loss)``, or
    ``opt.minimize``), which optax takes as ``value=``. With
    ``adapt_lower_bound=True`` the bound :math:`f^\star` (``lb``) is
    estimated on the fly, never below ``lower_bound``. Equal to
    ``optax.contrib.momo``; torch.optim has no MoMo. Complex parameters raise a
    ``TypeError`` (the step size needs a real inner product; optax's is complex).

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, the largest step size (large: the adaptive term decides),
        or a function of the step count.
    beta : float
        :math:`\beta`, the momentum of the averages.
    lower_bound : float
        :math:`f^\star`, a lower bound of the loss (0 for most losses).
    weight_decay : float
        :math:`\lambda`.
    adapt_lower_bound : bool
        Estimate the lower bound during training (when no good guess exists).
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. The loss
        averages and the bound are float32 whatever it is. See the mixed precision guide.

    References
    ----------
    Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models for
    Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """

    def __init__(
        self,
        learning_rate: float = 1.0,
        beta: float = 0.9,
        lower_bound: float = 0.0,
        weight_decay: float = 0.0,
        adapt_lower_bound: bool = False,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("beta", beta, 0, 1)
        self.learning_rate = learning_rate
        self.beta = beta
        self.d: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self._init_scalars(lower_bound, weight_decay, adapt_lower_bound)

    def call_model(
        self,
        grads: dict[str, jax.Array],
        *,
        params: dict[str, jax.Array],
        loss: Any = None,
        **_: Any,
    ) -> dict[str, jax.Array]:
        loss = self._loss(loss, params)
        grads = super().call_model(grads)
        # The averages start at the first values: no momentum on the first step.
        bt = jnp.where(self.t == 1, 0.0, self.beta)
        self.barf = ema(self.barf, loss, bt)
        for key, g in grads.items():
            if key not in self.d:
                self.d[key] = jnp.zeros_like(g)
            self.d[key] = ema(self.d[key], g, bt).astype(g.dtype)
        self.gamma = ema(self.gamma, tree_vdot(grads, params), bt)
        d = {key: self.d[key] for key in grads}
        d_sq = tree_vdot(d, d)
        iprod = tree_vdot(d, params)
        # The step size is global, so the whole update is made here.
        return self._polyak_step(d, d_sq, iprod, params, 1.0)


class MoMoAdam(_MoMoBase, AdaptiveMoments):
    r"""MoMo-Adam: Adam(W) with a Polyak-type step size from a model of the loss.

    With :math:`\mu = 1 + \eta\lambda`, the bias corrections
    :math:`c_1 = 1 - \beta_1^t`, :math:`c_2 = 1 - \beta_2^t` and the loss
    :math:`f_t`:

    .. math::

        \bar f_t &= \beta_1 \bar f_{t-1} + (1 - \beta_1)\, f_t \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        D_t &= \varepsilon + \sqrt{v_t / c_2}, \qquad
        \gamma_t = \beta_1 \gamma_{t-1} + (1 - \beta_1)\, \langle g_t, \theta_{t-1} \rangle \\
        \tau_t &= \min\Big(\frac{\eta}{c_1},\ \frac{\max\big(\mu\,(\bar f_t - c_1 f^\star
            - \gamma_t) + \langle m_t, \theta_{t-1}\rangle,\ 0\big)}
            {\langle m_t, m_t / D_t \rangle}\Big) \\
        \theta_t &= \theta_{t-1} - \frac{\eta\lambda}{\mu}\, \theta_{t-1}
            - \tau_t\, m_t / D_t

    (:math:`\tau_t = 0` when the denominator is below machine epsilon). The
    loss is the ``loss=`` extra, as for :class:`MoMo`. Equal to
    ``optax.contrib.momo_adam``; torch.optim has no MoMo. Complex parameters
    raise a ``TypeError``.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, the largest step size, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first and second moments.
    eps : float
        :math:`\varepsilon`, added to the preconditioner.
    lower_bound : float
        :math:`f^\star`, a lower bound of the loss.
    weight_decay : float
        :math:`\lambda`, decoupled as in AdamW.
    adapt_lower_bound : bool
        Estimate the lower bound during training.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. The loss
        averages and the bound are float32 whatever it is. See the mixed precision guide.

    References
    ----------
    Schaipp, Ohana, Eickenberg, Defazio & Gower, "MoMo: Momentum Models for
    Adaptive Learning Rates", ICML 2024 (arXiv:2305.07583).
    """

    def __init__(
        self,
        learning_rate: float = 1e-2,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        lower_bound: float = 0.0,
        weight_decay: float = 0.0,
        adapt_lower_bound: bool = False,
        *,
        state_dtype: Any = None,
    ) -> None:
        AdaptiveMoments.__init__(self, learning_rate, b1, b2, eps, state_dtype=state_dtype)
        self._init_scalars(lower_bound, weight_decay, adapt_lower_bound)

    def call_model(
        self,
        grads: dict[str, jax.Array],
        *,
        params: dict[str, jax.Array],
        loss: Any = None,
        **_: Any,
    ) -> dict[str, jax.Array]:
        loss = self._loss(loss, params)
        grads = super().call_model(grads)
        b1, b2 = self.b1, self.b2
        self.barf = ema(self.barf, loss, b1)
        bc2 = 1 - b2**self.t
        precond = {}
        for key, g in grads.items():
            self._build(key, g)
            self.m[key] = ema(self.m[key], g, b1).astype(self.m[key].dtype)
            self.v[key] = (b2 * self.v[key] + (1 - b2) * g * g).astype(self.v[key].dtype)
            precond[key] = self.eps + jnp.sqrt(self.v[key] / bc2)
        m = {key: self.m[key] for key in grads}
        weighted = {key: m[key] / precond[key] for key in grads}
        m_norm = tree_vdot(m, weighted)
        self.gamma = ema(self.gamma, tree_vdot(grads, params), b1)
        iprod = tree_vdot(m, params)
        return self._polyak_step(weighted, m_norm, iprod, params, 1 - b1**self.t)
