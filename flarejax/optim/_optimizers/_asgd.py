"""ASGD: SGD with a decaying step size and a running average of the iterates (torch.optim.ASGD)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_unflatten

from ..._tree import flat_keys
from .._checks import check_nonnegative
from ._moments import Counted, new_counter

__all__ = ["ASGD"]


class ASGD(Counted):
    r"""Averaged SGD: SGD with a decaying step size, and the average of its iterates.

    At step :math:`t = 1, 2, \dots`, with :math:`g_t` the gradient plus
    :math:`\lambda_{wd}\, \theta_{t-1}` (coupled weight decay):

    .. math::

        \eta_t &= \eta / (1 + \lambda\, \eta\, (t - 1))^{\alpha}, \qquad
        \mu_t = 1 / \max(1,\; t - 1 - t_0) \\
        \theta_t &= (1 - \lambda\, \eta_t)\, \theta_{t-1} - \eta_t\, g_t \\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_t\, (\theta_t - \bar\theta_{t-1})

    The model follows :math:`\theta_t`; the average :math:`\bar\theta_t` (the
    iterate itself until step :math:`t_0 + 2`, then the running mean of the
    iterates since) is kept in ``opt.ax`` and read with
    ``opt.averaged_params(model)``: evaluate at it. Equal to
    ``torch.optim.ASGD`` (its ``ax`` state is ``opt.ax``), with its argument
    names and defaults except ``lr``, called ``learning_rate`` here as in
    every flarejax optimizer. optax has no ASGD. Complex parameters are
    stepped as their real and imaginary parts, as in torch.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, the initial step size.
    lambd : float
        :math:`\lambda`, the decay of the step size (and the weight of the
        shrinking term :math:`\lambda \eta_t \theta`).
    alpha : float
        :math:`\alpha`, the power of the step-size decay.
    t0 : float
        :math:`t_0`, the step after which averaging starts.
    weight_decay : float or schedule
        :math:`\lambda_{wd}`, L2 weight decay added to the gradient.

    References
    ----------
    Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging",
    SIAM Journal on Control and Optimization, 1992.
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("lambd", lambd)
        check_nonnegative("alpha", alpha)
        check_nonnegative("t0", t0)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.lambd = lambd
        self.alpha = alpha
        self.t0 = t0
        self.weight_decay = weight_decay
        self.ax: dict[str, jax.Array] = {}
        self.t = new_counter()

    def step_size(self) -> jax.Array:
        """:math:`\\eta_t`, the step size of the current step (torch's ``eta``)."""
        lr = self.current(self.learning_rate)
        steps_before = jnp.asarray(self.t - 1, jnp.float32)
        return lr / (1 + self.lambd * lr * steps_before) ** self.alpha

    def averaging_weight(self) -> jax.Array:
        """:math:`\\mu_t`, the weight of the new iterate in the average (torch's ``mu``)."""
        steps_before = jnp.asarray(self.t - 1, jnp.float32)
        return 1 / jnp.maximum(1.0, steps_before - self.t0)

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        if key not in self.ax:
            self.ax[key] = jnp.zeros_like(param)
        eta = self.step_size()
        grad = grad + self.current(self.weight_decay) * param
        new = param * (1 - self.lambd * eta) - eta * grad
        update = param - new
        # The parameter the base class computes from this update, in its dtype.
        new = (param - update).astype(param.dtype)
        mu = self.averaging_weight()
        ax = self.ax[key]
        # torch copies the iterate while mu is 1: no rounding through (new - ax).
        self.ax[key] = jnp.where(mu == 1, new, ax + (new - ax) * mu).astype(ax.dtype)
        return update

    def averaged_params(self, model: Any) -> Any:
        """``model`` with its parameters replaced by their average :math:`\\bar\\theta_t`.

        Parameters the optimizer has not stepped are returned unchanged, and the
        average is cast to each parameter's dtype. Like ``torch.optim.ASGD``'s
        ``ax`` state, and :meth:`EMA.ema_params <flarejax.optim.EMA.ema_params>`.
        """
        keys, leaves, treedef = flat_keys(model)
        out = [self.ax[k].astype(x.dtype) if k in self.ax else x for k, x in zip(keys, leaves)]
        return tree_unflatten(treedef, out)
