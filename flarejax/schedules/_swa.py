"""Annealing to the constant learning rate of stochastic weight averaging."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._core.checks import check_steps
from ._base import BoundSchedule, Schedule, as_float

__all__ = ["swa_anneal"]

_STRATEGIES = ("cos", "linear")


def swa_anneal(
    init_value: ArrayLike,
    swa_value: ArrayLike,
    anneal_steps: int = 10,
    anneal_strategy: str = "cos",
) -> Schedule:
    r"""Anneal from ``init_value`` to ``swa_value``, then hold it: ``torch.optim.swa_utils.SWALR``.

    .. math::
        f(t) = (1 - a(\tau))\, I + a(\tau)\, S, \qquad
        \tau = \min\!\big(1, t / \max(1, T)\big), \qquad
        a(\tau) = \tfrac12 (1 - \cos \pi\tau) \ \text{or}\ \tau

    Equal to the learning rate of ``SWALR(optimizer, swa_lr=S,
    anneal_epochs=T, anneal_strategy=...)`` after :math:`t` calls of its
    ``step()``, for an optimizer whose learning rate was :math:`I`
    (``anneal_steps=0`` jumps to :math:`S` at once). To start it after
    ``swa_start`` steps of another schedule, as torch users switch
    schedulers::

        join_schedules([cosine_decay(0.1, 1000), swa_anneal(0.05, 0.01, 10)], [800])

    (with ``init_value`` the first schedule's value at the switch). The
    count is the optimizer's step count: to anneal over epochs, pass
    ``anneal_steps`` in steps.

    Parameters
    ----------
    init_value
        :math:`I`, the value at step 0.
    swa_value
        :math:`S`, the value from step :math:`T` on.
    anneal_steps
        :math:`T \ge 0`, the steps of the annealing.
    anneal_strategy
        ``"cos"`` (:math:`a(\tau) = (1 - \cos \pi\tau)/2`) or ``"linear"``
        (:math:`a(\tau) = \tau`).

    Returns
    -------
    Schedule

    References
    ----------
    Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
    Generalization", UAI 2018 (arXiv:1803.05407);
    ``torch.optim.swa_utils.SWALR``.
    """
    anneal_steps = check_steps("anneal_steps", anneal_steps, minimum=0)
    if anneal_strategy not in _STRATEGIES:
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    return BoundSchedule(
        "swa_anneal",
        _swa_anneal,
        init_value=init_value,
        swa_value=swa_value,
        anneal_steps=anneal_steps,
        cos=anneal_strategy == "cos",
    )


def _swa_anneal(
    count: ArrayLike,
    *,
    init_value: ArrayLike,
    swa_value: ArrayLike,
    anneal_steps: int,
    cos: bool,
) -> jax.Array:
    # anneal_steps=0: tau is 1 from step 0 on, as SWALR counts such a step as the first.
    if anneal_steps == 0:
        tau = jnp.ones_like(as_float(count))
    else:
        tau = jnp.clip(as_float(count) / anneal_steps, 0.0, 1.0)
    alpha = 0.5 * (1 - jnp.cos(jnp.pi * tau)) if cos else tau
    return (1 - alpha) * jnp.asarray(init_value) + alpha * jnp.asarray(swa_value)
