"""An exponential moving average of the parameters, for evaluation."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_unflatten

from ..._tree import flat_keys
from .._base import Optimizer
from .._checks import check_range
from .._optimizers._moments import Counted
from .._optimizers._mu_dtype import as_mu_dtype, moment_dtype
from .._substep import substep

__all__ = ["EMA"]


class EMA(Counted):
    r"""Keep an exponential moving average of the parameters that ``opt`` trains.

    .. math::

        \theta_t = \theta_{t-1} - \mathrm{opt}(g_t), \qquad
        \bar\theta_t = \beta\,\bar\theta_{t-1} + (1 - \beta)\,\theta_t, \qquad
        \hat\theta_t = \bar\theta_t / (1 - \beta^t)

    Training is unchanged (the model keeps ``opt``'s parameters);
    ``opt.ema_params(model)`` returns the model with the averaged parameters
    :math:`\hat\theta_t` (:math:`\bar\theta_t` with ``debias=False``), e.g. for
    evaluation. The average is ``optax.ema(decay, debias)`` applied to the
    sequence of parameters; torch: ``torch.optim.swa_utils.AveragedModel``
    with an EMA ``multi_avg_fn`` (which starts from the initial weights, unbiased).

    Parameters
    ----------
    opt : Optimizer
        The optimizer that trains the parameters.
    decay : float
        :math:`\beta`, in [0, 1).
    debias : bool
        Divide by :math:`1 - \beta^t`, undoing the bias towards the zero start.
    state_dtype : dtype, optional
        The dtype of the average and of its arithmetic (default: the
        parameter's), e.g. ``jnp.float32`` for bfloat16 parameters, where
        :math:`\beta = 0.999` rounds to 1 and the average stops moving. The
        wrapped optimizer's state has its own ``state_dtype``; ``ema_params``
        returns the parameters' dtype.

    References
    ----------
    Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging",
    SIAM J. Control Optim. 1992.
    """

    def __init__(
        self, opt: Optimizer, decay: float, debias: bool = True, *, state_dtype: Any = None
    ) -> None:
        check_range("decay", decay, 0, 1)
        self.opt = opt
        self.decay = decay
        self.debias = debias
        self.ema: dict[str, jax.Array] = {}
        self.state_dtype = as_mu_dtype(state_dtype, "state_dtype")
        self.t = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        super().call_model(grads)  # advances self.t
        for key, u in updates.items():
            p = params[key]
            # The parameter as the model will hold it (rounded to its dtype).
            new = p if u is None else (p - u).astype(p.dtype)
            if key not in self.ema:
                self.ema[key] = jnp.zeros_like(p, dtype=moment_dtype(self.state_dtype, p))
            average = self.ema[key]
            self.ema[key] = (1 - self.decay) * new.astype(average.dtype) + self.decay * average
        return updates

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def ema_params(self, model: Any) -> Any:
        """``model`` with its parameters replaced by their average (where there is one)."""
        keys, leaves, treedef = flat_keys(model)
        scale = 1 - self.decay**self.t if self.debias else 1.0

        def averaged(k: str, x: Any) -> Any:
            if k not in self.ema:
                return x
            return (self.ema[k] / jnp.asarray(scale, self.ema[k].dtype)).astype(x.dtype)

        return tree_unflatten(treedef, [averaged(k, x) for k, x in zip(keys, leaves)])
