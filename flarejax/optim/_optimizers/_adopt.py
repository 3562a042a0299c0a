"""ADOPT: Adam that normalizes the gradient by the previous second moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ._complex import abs_sq, reject_complex
from ._moments import AdaptiveMoments, ema

__all__ = ["ADOPT"]


def _fourth_root(count: jax.Array) -> jax.Array:
    return count**0.25


class ADOPT(AdaptiveMoments):
    r"""ADOPT: momentum on the gradient normalized by the *previous* second moment.

    .. math::

        \tilde g_t &= \operatorname{clip}\big(g_t / \max(\sqrt{v_{t-1}}, \varepsilon),\
            \pm c(t - 1)\big) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, \tilde g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2)\, |g_t|^2 \\
        \theta_t &= \theta_{t-1} - \eta\, m_t
        \quad\text{(Nesterov: } \theta_t = \theta_{t-1}
            - \eta\,(\beta_1 m_t + (1 - \beta_1)\, \tilde g_t)\text{)}

    Normalizing by :math:`v_{t-1}`, which does not depend on :math:`g_t`,
    removes the correlation that makes Adam diverge for some :math:`\beta_2`.
    The first step only measures :math:`v_1 = g_1^2` (and does not move).
    :math:`c` is ``clip_value_fn`` of the step count. No bias correction.
    Equal to ``optax.contrib.adopt``.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the first and second moments.
    eps : float
        :math:`\varepsilon`, the floor of :math:`\sqrt{v_{t-1}}`.
    mu_dtype : dtype, optional
        The dtype of the first moment's state; ``None``: the gradient's dtype.
    nesterov : bool
        Use Nesterov momentum.
    use_clipping : bool
        Clip the normalized gradient, which stabilizes the first steps.
    clip_value_fn : callable
        The clipping bound as a function of the step count (default
        :math:`t^{1/4}`).
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any β2 with the
    Optimal Rate", NeurIPS 2024.
    """

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.9,
        b2: float = 0.9999,
        eps: float = 1e-6,
        mu_dtype: Any = None,
        *,
        nesterov: bool = False,
        use_clipping: bool = True,
        clip_value_fn: Callable[[jax.Array], jax.Array] = _fourth_root,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype=mu_dtype, state_dtype=state_dtype)
        self.nesterov = nesterov
        self.use_clipping = use_clipping
        self.clip_value_fn = clip_value_fn

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        if self.use_clipping:
            reject_complex(self, key, grad, "it clips the normalized gradient element-wise")
        self._build(key, grad)
        # The first step has no v_{t-1} to normalize by: it only sets v_1 = g_1^2.
        first = self.t == 1
        b1 = jnp.where(first, 1.0, self.b1)
        b2 = jnp.where(first, 0.0, self.b2)
        normalized = grad / jnp.maximum(jnp.sqrt(self.v[key]), self.eps)
        if self.use_clipping:
            bound = self.clip_value_fn(jnp.asarray(self.t, jnp.int32) - 1)
            normalized = jnp.clip(normalized, -bound, bound)
        m = ema(self.m[key], normalized, b1)
        self.v[key] = ema(self.v[key], abs_sq(grad), b2)
        update = ema(m, normalized, b1) if self.nesterov else m
        self.m[key] = m.astype(self.m[key].dtype)
        return self.current(self.learning_rate) * update
