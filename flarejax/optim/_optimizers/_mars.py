"""MARS: AdamW on a variance-reduced gradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from .._patterns import Pattern, matches
from ._complex import abs_sq, norm
from ._decay import DecoupledDecay
from ._moments import AdaptiveMoments, debias, ema

__all__ = ["MARS"]


class MARS(AdaptiveMoments, DecoupledDecay):
    r"""MARS-AdamW: AdamW on a variance-reduced, norm-clipped gradient (approximate MARS).

    On a matrix (a parameter with two dimensions):

    .. math::

        c_t &= g_t + \gamma\, \frac{\beta_1}{1 - \beta_1}\, (g_t - g_{t-1}), \qquad
        \tilde c_t = c_t / \max(1, \lVert c_t \rVert) \\
        m_t &= \beta_1\, m_{t-1} + (1 - \beta_1)\, \tilde c_t, \qquad
        v_t = \beta_2\, v_{t-1} + (1 - \beta_2)\, |\tilde c_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \big(\hat m_t / (\sqrt{\hat v_t} + \varepsilon)
        + \lambda\, \theta_{t-1}\big)

    with :math:`g_0 = 0`, :math:`\hat m_t, \hat v_t` bias-corrected as in
    :class:`Adam` and :math:`\lVert\cdot\rVert` the Frobenius norm of the
    parameter's :math:`c_t`. :math:`g_{t-1}` is the previous step's gradient
    (the approximate MARS of the reference, ``is_approx=True``; the exact one
    needs the gradient of the previous batch at the new parameters). Every
    other parameter (vectors, scalars, convolution kernels) takes a plain
    :class:`AdamW` step with :math:`\beta^{1d}_1, \beta^{1d}_2`, learning rate
    :math:`\eta \cdot` ``lr_1d_factor`` and decay ``weight_decay_1d``, unless
    ``optimize_1d``. Equal to the authors' ``MARS(mars_type="mars-adamw")``
    (``tests/optim/test_mars.py`` runs it); optax has no equivalent.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta` (the reference's default is ``3e-3``).
    b1, b2 : float
        :math:`\beta_1, \beta_2`, of the matrices' moments.
    eps : float
        :math:`\varepsilon`.
    weight_decay : float or schedule
        :math:`\lambda`, of the matrices (of every parameter with ``optimize_1d``).
    gamma : float
        :math:`\gamma`, the weight of the gradient correction; 0 gives AdamW on
        the clipped gradient.
    mask : pattern(s) or function of the key, optional
        Decay only matching parameters, as in :class:`AdamW`.
    optimize_1d : bool
        Step every parameter with MARS (with ``weight_decay``), not only matrices.
    lr_1d_factor : float
        The other parameters' learning rate as a multiple of :math:`\eta` (the
        reference's ``lr_1d / lr``).
    b1_1d, b2_1d : float
        Their AdamW's :math:`\beta_1, \beta_2` (the reference's ``betas_1d``).
    weight_decay_1d : float or schedule
        Their decay.
    mu_dtype : dtype, optional
        The dtype of the first moments.
    decouple_from_lr : bool
        Fully decoupled decay, as in :class:`AdamW`.

    The reference's ``mars-lion`` and ``mars-shampoo`` variants and its
    ``amsgrad`` option are not provided.

    References
    ----------
    Yuan, Liu, Wu, Zhou & Gu, "MARS: Unleashing the Power of Variance Reduction
    for Training Large Models", arXiv:2411.10438, 2024
    (code: github.com/AGI-Arena/MARS).
    """

    last_grad: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float | Callable[..., Any],
        b1: float = 0.95,
        b2: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float | Callable[..., Any] = 0.0,
        gamma: float = 0.025,
        mask: Pattern | None = None,
        *,
        optimize_1d: bool = False,
        lr_1d_factor: float = 1.0,
        b1_1d: float = 0.9,
        b2_1d: float = 0.95,
        weight_decay_1d: float | Callable[..., Any] = 0.1,
        mu_dtype: Any = None,
        decouple_from_lr: bool = False,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype=mu_dtype)
        self.init_decay(weight_decay, mask, decouple_from_lr)
        check_nonnegative("gamma", gamma)
        check_nonnegative("lr_1d_factor", lr_1d_factor)
        check_range("b1_1d", b1_1d, 0, 1)
        check_range("b2_1d", b2_1d, 0, 1)
        check_nonnegative("weight_decay_1d", weight_decay_1d)
        self.gamma = gamma
        self.optimize_1d = bool(optimize_1d)
        self.lr_1d_factor = lr_1d_factor
        self.b1_1d = b1_1d
        self.b2_1d = b2_1d
        self.weight_decay_1d = weight_decay_1d
        self.last_grad: dict[str, jax.Array] = {}

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        lr = self.current(self.learning_rate)
        if not (self.optimize_1d or grad.ndim == 2):
            direction = self._adam(key, grad, self.b1_1d, self.b2_1d)
            return (
                lr * self.lr_1d_factor * self._decayed(key, direction, param, self.weight_decay_1d)
            )
        if key not in self.last_grad:
            self.last_grad[key] = jnp.zeros_like(grad)
        c = grad + self.gamma * self.b1 / (1 - self.b1) * (grad - self.last_grad[key])
        # The reference divides by the norm only where it exceeds one.
        c = c / jnp.maximum(norm(c), 1).astype(c.real.dtype)
        self.last_grad[key] = grad
        direction = self._adam(key, c, self.b1, self.b2)
        return lr * self._decayed(key, direction, param, self.weight_decay)

    def _adam(self, key: str, x: jax.Array, b1: Any, b2: Any) -> jax.Array:
        """Advance ``key``'s moments with ``x``; the bias-corrected Adam direction."""
        self._build(key, x)
        self.m[key] = ema(self.m[key], x, b1).astype(self.m[key].dtype)
        self.v[key] = ema(self.v[key], abs_sq(x), b2)
        return debias(self.m[key], b1, self.t) / (
            jnp.sqrt(debias(self.v[key], b2, self.t)) + self.eps
        )

    def _decayed(
        self, key: str, direction: jax.Array, param: jax.Array, weight_decay: Any
    ) -> jax.Array:
        """``direction`` plus ``weight_decay`` times ``param``, under ``mask`` and
        ``decouple_from_lr`` (:meth:`DecoupledDecay.decay` with another rate)."""
        if self.mask is not None and not matches(self.mask, key):
            return direction
        rate = self.current(weight_decay)
        if self.decouple_from_lr:
            rate = rate / self.initial_learning_rate()
        return direction + rate * param
