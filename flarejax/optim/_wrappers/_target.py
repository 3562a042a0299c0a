"""A slow copy of the parameters that ``opt`` trains: the target network of DQN and BYOL."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_unflatten

from ..._core.checks import check_steps
from ..._tree import flat_keys
from .._base import Optimizer
from .._checks import check_range
from .._substep import substep

__all__ = ["IncrementalUpdate", "PeriodicUpdate"]


class _Target(Optimizer):
    """Steps ``opt``, then moves the copy ``target`` towards the new parameters."""

    opt: Optimizer
    target: dict[str, jax.Array]

    def _follow(self, key: str, new: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _advance(self) -> None:
        """Called once per step, before the copies move."""

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        self._advance()
        for key, u in updates.items():
            p = params[key]
            if key not in self.target:
                self.target[key] = p  # the copy starts as the parameters before the step
            new = p if u is None else (p - u).astype(p.dtype)
            self.target[key] = self._follow(key, new).astype(p.dtype)
        return updates

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def target_params(self, model: Any) -> Any:
        """``model`` with its parameters replaced by the slow copy (where there is one)."""
        keys, leaves, treedef = flat_keys(model)
        return tree_unflatten(treedef, [self.target.get(k, x) for k, x in zip(keys, leaves)])


class PeriodicUpdate(_Target):
    r"""Train with ``opt``; keep a copy of the parameters refreshed every :math:`K` steps.

    .. math::

        \theta_t = \theta_{t-1} - \mathrm{opt}(g_t), \qquad
        \bar\theta_t = \begin{cases} \theta_t & t \equiv 0 \pmod K \\
        \bar\theta_{t-1} & \text{otherwise} \end{cases}, \qquad \bar\theta_0 = \theta_0

    The target network of DQN: training is unchanged (the model keeps
    ``opt``'s parameters), and ``opt.target_params(model)`` returns the model
    with the copy :math:`\bar\theta_t`, e.g. to compute the targets of the next
    loss. ``steps`` counts the steps :math:`t`. optax has no state for this:
    ``optax.periodic_update(new_params, target, steps, update_period)`` is the
    function a training loop calls after each step, and this wrapper calls it
    for you, starting the copy from the parameters the first step sees.

    Parameters
    ----------
    opt : Optimizer
        The optimizer that trains the parameters.
    update_period : int
        :math:`K`, the steps between refreshes of the copy.

    References
    ----------
    Mnih et al., "Human-level control through deep reinforcement learning",
    Nature 2015.
    """

    def __init__(self, opt: Optimizer, update_period: int) -> None:
        self.opt = opt
        self.update_period = check_steps("update_period", update_period, minimum=1)
        self.steps = jnp.zeros((), jnp.int32)
        self.target = {}

    def _advance(self) -> None:
        self.steps = self.steps + 1

    def _follow(self, key: str, new: jax.Array) -> jax.Array:
        return jnp.where(self.steps % self.update_period == 0, new, self.target[key])


class IncrementalUpdate(_Target):
    r"""Train with ``opt``; keep a copy of the parameters that follows them by Polyak averaging.

    .. math::

        \theta_t = \theta_{t-1} - \mathrm{opt}(g_t), \qquad
        \bar\theta_t = \tau\,\theta_t + (1 - \tau)\,\bar\theta_{t-1}, \qquad
        \bar\theta_0 = \theta_0

    The soft target network of DDPG, SAC and BYOL: training is unchanged, and
    ``opt.target_params(model)`` returns the model with the copy
    :math:`\bar\theta_t`. Unlike :class:`EMA` the copy starts from the initial
    parameters, not zero, and is not debiased. optax has no state for this:
    ``optax.incremental_update(new_params, target, step_size)`` is the function
    a training loop calls after each step, and this wrapper calls it for you,
    starting the copy from the parameters the first step sees.

    Parameters
    ----------
    opt : Optimizer
        The optimizer that trains the parameters.
    step_size : float
        :math:`\tau`, in [0, 1]: the weight of the newest parameters.

    References
    ----------
    Lillicrap et al., "Continuous control with deep reinforcement learning",
    ICLR 2016.
    """

    def __init__(self, opt: Optimizer, step_size: float) -> None:
        check_range("step_size", step_size, 0, 1, hi_open=False)
        self.opt = opt
        self.step_size = step_size
        self.target = {}

    def _follow(self, key: str, new: jax.Array) -> jax.Array:
        return self.step_size * new + (1.0 - self.step_size) * self.target[key]
