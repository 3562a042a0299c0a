"""A running average of the parameters, as ``torch.optim.swa_utils.AveragedModel`` keeps it."""

from __future__ import annotations

import operator
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.tree_util import tree_unflatten

from ..._tree import flat_keys
from .._base import Optimizer
from .._checks import check_nonnegative, check_positive, check_range
from .._optimizers._moments import Counted, new_counter
from .._substep import substep
from ._ema import EMA

__all__ = ["AveragedModel"]


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer step count, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer step count, got {value!r}") from None


class AveragedModel(EMA):
    r"""Average the parameters that ``opt`` trains: equal weights (SWA) or exponential.

    After step :math:`t` the new parameters :math:`\theta_t` join the average
    when :math:`t > s` and :math:`t - s` is a multiple of :math:`k` (``start``,
    ``every``). With :math:`n` parameter sets averaged so far:

    .. math::

        \bar\theta \leftarrow \begin{cases}
        \theta_t & n = 0 \\
        \bar\theta + (\theta_t - \bar\theta) / (n + 1) & \text{SWA: decay None} \\
        \bar\theta + (1 - \beta)\,(\theta_t - \bar\theta) & \text{EMA: decay } \beta
        \end{cases}

    Training is unchanged (the model keeps ``opt``'s parameters);
    ``opt.averaged_params(model)`` returns the model with the averaged
    parameters (the model's own before anything was averaged), e.g. for
    evaluation, after :func:`update_bn` where the model has batch statistics.
    ``opt.n_averaged`` counts the parameter sets averaged.

    Equal to ``torch.optim.swa_utils.AveragedModel`` with its default average
    (``decay=None``) or with ``multi_avg_fn=get_ema_multi_avg_fn(decay)``,
    its ``update_parameters(model)`` called after the steps named above (torch
    users write ``if epoch > swa_start: swa_model.update_parameters(model)``).
    Unlike :class:`EMA` the average starts from the first parameters it sees,
    not from zero, so it needs no bias correction; buffers are not averaged
    (torch's ``use_buffers=False``): recompute batch statistics with
    :func:`update_bn`.

    Parameters
    ----------
    opt : Optimizer
        The optimizer that trains the parameters.
    decay : float, optional
        :math:`\beta \in [0, 1)` for an exponential average; ``None`` (the
        default) averages with equal weights, as stochastic weight averaging.
    start : int
        :math:`s \ge 0`, the steps taken before the first average.
    every : int
        :math:`k \ge 1`, the steps between two averages.

    References
    ----------
    Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
    Generalization", UAI 2018 (arXiv:1803.05407).
    """

    def __init__(
        self, opt: Optimizer, decay: float | None = None, *, start: int = 0, every: int = 1
    ) -> None:
        if decay is not None:
            check_range("decay", decay, 0, 1)
        check_nonnegative("start", start)
        check_positive("every", every)
        self.opt = opt
        self.decay = decay  # type: ignore[assignment]
        self.debias = False
        self.start = _count("start", start)
        self.every = _count("every", every)
        self.ema: dict[str, jax.Array] = {}
        self.t = new_counter()
        self.n_averaged = new_counter()

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        Counted.call_model(self, grads)  # advances self.t
        join = (self.t > self.start) & ((self.t - self.start) % self.every == 0)
        n = self.n_averaged
        for key, u in updates.items():
            p = params[key]
            new = p if u is None else (p - u).astype(p.dtype)
            avg = self.ema.get(key)
            if avg is None:
                avg = jnp.zeros_like(p)
            if self.decay is None:
                # torch's default avg_fn: divides by n + 1 (the first set is copied).
                mixed = avg + (new - avg) / (n + 1).astype(avg.dtype)
            else:
                weight = jnp.where(n == 0, 1.0, 1 - self.decay).astype(avg.dtype)
                mixed = avg + weight * (new - avg)
            self.ema[key] = lax.select(join, mixed.astype(p.dtype), avg)
        self.n_averaged = n + join.astype(n.dtype)
        return updates

    def averaged_params(self, model: Any) -> Any:
        """``model`` with its parameters replaced by their average (where there is one).

        Before the first average, the model's own parameters. For an nnx
        module the result is a new module; ``model`` is left as it is.
        """
        keys, leaves, treedef = flat_keys(model)
        some = self.n_averaged > 0

        def averaged(k: str, x: Any) -> Any:
            if k not in self.ema:
                return x
            return jnp.where(some, self.ema[k].astype(x.dtype), x)

        return tree_unflatten(treedef, [averaged(k, x) for k, x in zip(keys, leaves)])

    def ema_params(self, model: Any) -> Any:
        """The same as :meth:`averaged_params`."""
        return self.averaged_params(model)
