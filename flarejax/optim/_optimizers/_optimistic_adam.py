"""Optimistic Adam: the optimistic step of OptimisticGD on Adam's direction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._checks import check_nonnegative
from ._adam import Adam
from ._nadam import NAdam
from ._optimistic_gd import optimistic

__all__ = ["OptimisticAdam"]


class OptimisticAdam(NAdam):
    r"""Optimistic Adam: extrapolate from the previous Adam direction.

    .. math::

        u_t &= \hat m_t / (\sqrt{\hat v_t + \varepsilon_{root}} + \varepsilon) \\
        \theta_t &= \theta_{t-1} - \eta\,\big((\alpha + \beta)\, u_t - \beta\, u_{t-1}\big)

    with :math:`u_t` the direction of :class:`NAdam` (``nesterov=True``, the
    default, as in optax) or of :class:`Adam`, and :math:`u_0 = u_1`. This is
    :class:`OptimisticGD` applied to Adam's direction instead of the gradient,
    against the limit cycles of min-max games (GANs).

    Equal to ``optax.optimistic_adam_v2``, whose arguments these are.
    ``optax.optimistic_adam(learning_rate, optimism)`` (deprecated in optax, and
    without schedules) takes the step
    :math:`(\eta + o)\, u_t - o\, u_{t-1}`: it is this class with
    ``beta=optimism / learning_rate`` (and ``alpha=1``); its default
    ``optimism=learning_rate`` is the default ``beta=1`` here. One class, with
    the current optax interface, covers both.

    Parameters
    ----------
    learning_rate : float or schedule
        The step size :math:`\eta`, or a function of the step count.
    alpha : float or schedule
        :math:`\alpha`, the weight of the current direction.
    beta : float or schedule
        :math:`\beta`, the weight of the optimistic correction.
    b1, b2, eps, eps_root, mu_dtype, state_dtype
        As in :class:`Adam`.
    nesterov : bool
        Use Nesterov momentum in the direction (:class:`NAdam`'s).

    References
    ----------
    Daskalakis, Ilyas, Syrgkanis & Zeng, "Training GANs with Optimism",
    ICLR 2018, arXiv:1711.00141.
    """

    def __init__(
        self,
        learning_rate: float,
        *,
        alpha: float | Callable[..., Any] = 1.0,
        beta: float | Callable[..., Any] = 1.0,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        eps_root: float = 0.0,
        mu_dtype: Any = None,
        nesterov: bool = True,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, eps_root, mu_dtype, state_dtype=state_dtype)
        check_nonnegative("alpha", alpha)
        check_nonnegative("beta", beta)
        self.alpha = alpha
        self.beta = beta
        self.nesterov = nesterov
        self.prev_update: dict[str, jax.Array] = {}

    def direction(self, key: str, grad: jax.Array) -> jax.Array:
        """Adam's direction :math:`u_t`, or NAdam's with ``nesterov``."""
        if self.nesterov:
            return super().direction(key, grad)
        return Adam.direction(self, key, grad)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        u = self.direction(key, grad)
        return self.current(self.learning_rate) * optimistic(self, self.prev_update, key, u)
