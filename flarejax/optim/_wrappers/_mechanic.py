"""Mechanic: learn the scale of any optimizer's updates while training."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .._base import Optimizer
from .._checks import check_nonnegative, check_positive
from .._optimizers._complex import reject_complex
from .._optimizers._inner import tree_vdot
from .._optimizers._moments import Counted, new_counter
from .._optimizers._mu_dtype import as_mu_dtype, moment_dtype
from .._substep import substep

__all__ = ["Mechanic"]


def _norm(a: dict[str, jax.Array]) -> jax.Array:
    total: Any = 0
    for x in a.values():
        total = total + jnp.sum(jnp.square(x))
    return jnp.sqrt(jnp.asarray(total))


class Mechanic(Counted):
    r"""Mechanic around any optimizer: learns the scale :math:`s` of its updates.

    The wrapped optimizer's updates :math:`u_t` accumulate into a direction
    :math:`\Delta_t = \Delta_{t-1} + u_t` from the first parameters
    :math:`\theta_0`, and the parameters are :math:`\theta_t = \theta_0 -
    (\sum_i s_{t,i})\, \Delta_t`. The scales :math:`s_{t,i}`, one per decay
    :math:`\beta_i = 1 - 10^{-i}` (:math:`i = 1, \dots, n`), are learned by a
    coin-betting rule on :math:`h_t = \langle \tilde g_t, \Delta_{t-1} \rangle`,
    with :math:`S = \sum_i s_{t-1,i}`,
    :math:`\tilde g_t = g_t + \lambda S\, \lVert g_t \rVert / (\lVert \theta_{t-1}
    \rVert + \varepsilon)\; \theta_{t-1}` and
    :math:`\Delta_{t-1} = (\theta_0 - \theta_{t-1}) / (S + \varepsilon)`:

    .. math::

        m_{t,i} &= \max(\beta_i m_{t-1,i},\ |h_t| + \varepsilon), \qquad
        v_{t,i} = \beta_i^2 v_{t-1,i} + h_t^2 \\
        r_{t,i} &= \beta_i r_{t-1,i} + \mathrm{clip}(h_t, -m_{t-1,i}, m_{t-1,i})\, s_{t-1,i} \\
        s_{t,i} &= \frac{(s_{init} / n)\, m_{t,i} + \max(r_{t,i}, 0)}{\sqrt{v_{t,i}} + \varepsilon}

    Norms and inner products run over all parameters the wrapped optimizer
    updates (a parameter it leaves alone is left alone). :math:`\theta_0` is
    taken at the first step, in ``x0[key]``. Give the wrapped optimizer a
    constant learning rate (1.0, or a schedule peaking at 1.0): Mechanic
    learns the scale. Equal to ``optax.contrib.mechanize``; torch.optim has
    no Mechanic. Complex parameters raise a ``TypeError``.

    Parameters
    ----------
    opt : Optimizer
        The optimizer whose updates are scaled.
    weight_decay : float
        :math:`\lambda`, Mechanic's own decay on the gradient in :math:`h_t` (not
        the wrapped optimizer's weight decay).
    eps : float
        :math:`\varepsilon`.
    s_init : float
        :math:`s_{init}`, the initial total scale (split over the :math:`n` scales).
    num_betas : int
        :math:`n`, the number of decays :math:`0.9, 0.99, \dots`.
    state_dtype : dtype, optional
        The dtype of :math:`\theta_0` and of Mechanic's arithmetic on the
        gradients, parameters and updates (default: the parameter's), e.g.
        ``jnp.float32`` for bfloat16 parameters; the update is cast once to
        the parameter's dtype. The scales are float32 whatever it is, and the
        wrapped optimizer's state has its own ``state_dtype``.

    References
    ----------
    Cutkosky, Defazio & Mehta, "Mechanic: A Learning Rate Tuner", NeurIPS 2023
    (arXiv:2306.00144).
    """

    def __init__(
        self,
        opt: Optimizer,
        weight_decay: float = 1e-2,
        eps: float = 1e-8,
        s_init: float = 1e-6,
        num_betas: int = 6,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("weight_decay", weight_decay)
        check_nonnegative("eps", eps)
        check_positive("s_init", s_init)
        if isinstance(num_betas, bool) or not isinstance(num_betas, int) or num_betas < 1:
            raise ValueError(f"num_betas must be an int >= 1, got {num_betas!r}")
        self.opt = opt
        self.weight_decay = weight_decay
        self.eps = eps
        self.s_init = s_init
        self.num_betas = num_betas
        self.x0: dict[str, jax.Array] = {}
        self.state_dtype = as_mu_dtype(state_dtype, "state_dtype")
        self.r = jnp.zeros((num_betas,), jnp.float32)
        self.m = jnp.zeros((num_betas,), jnp.float32)
        self.v = jnp.zeros((num_betas,), jnp.float32)
        self.s = jnp.full((num_betas,), s_init, jnp.float32)
        self.t = new_counter()

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        for key, param in params.items():
            reject_complex(self, key, param, "its scale is learned from real inner products")
        grads = super().call_model(grads)
        inner = substep(self.opt, grads, params, extras)
        keys = [key for key, u in inner.items() if u is not None]
        g = {key: self._wide(grads[key]) for key in keys}
        p = {key: self._wide(params[key]) for key in keys}
        for key in keys:
            if key not in self.x0:
                self.x0[key] = p[key]
            # Start from the parameters of the first step, as optax, even after init.
            self.x0[key] = jnp.where(self.t == 1, p[key], self.x0[key])
        s_sum = jnp.sum(self.s)
        decay = self.current(self.weight_decay) * s_sum * _norm(g) / (_norm(p) + self.eps)
        g = {key: g[key] + decay * p[key] for key in keys}
        delta_prev = {key: (self.x0[key] - p[key]) / (s_sum + self.eps) for key in keys}
        h = tree_vdot(g, delta_prev)
        clipped_h = lax.clamp(-self.m, jnp.ones_like(self.m) * h, self.m)
        betas = jnp.array([1.0 - 0.1**i for i in range(1, self.num_betas + 1)], self.s.dtype)
        m = jnp.maximum(betas * self.m, jnp.abs(h) + self.eps)
        self.v = (betas**2 * self.v + h**2).astype(self.v.dtype)
        self.r = (betas * self.r + clipped_h * self.s).astype(self.r.dtype)
        wealth = (self.s_init / self.num_betas) * m + jnp.maximum(0.0, self.r)
        self.m = m.astype(self.m.dtype)
        self.s = (wealth / (jnp.sqrt(self.v) + self.eps)).astype(self.s.dtype)
        scale = jnp.sum(self.s)
        out: dict[str, jax.Array | None] = dict.fromkeys(grads)
        for key in keys:
            # The wrapped update extends the direction; the new parameters are x0 - scale * it.
            delta = delta_prev[key] + self._wide(inner[key])  # type: ignore[arg-type]  # not None
            update = p[key] - (self.x0[key] - scale * delta)
            # With state_dtype, cast once, as StateDtype does (else as the arithmetic gave it).
            out[key] = update.astype(params[key].dtype) if self.state_dtype else update
        return out

    def _wide(self, x: jax.Array) -> jax.Array:
        """``x`` in ``state_dtype`` (unchanged without one)."""
        return x.astype(moment_dtype(self.state_dtype, x) or x.dtype)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
