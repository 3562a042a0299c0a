"""Lookahead: k fast steps forward, one step back towards slow weights."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.tree_util import tree_unflatten

from ..._tree import flat_keys
from .._base import Optimizer
from .._checks import check_range
from .._optimizers._mu_dtype import as_mu_dtype, moment_dtype
from .._substep import substep

__all__ = ["Lookahead"]


class Lookahead(Optimizer):
    r"""Lookahead around a fast optimizer: every :math:`k` steps, pull back to slow weights.

    .. math::

        \phi_t &= \theta_{t-1} - \mathrm{opt}(g_t) \\
        \text{every } k \text{ steps:}\quad
        \theta^{slow} &\leftarrow \theta^{slow} + \alpha\,(\phi_t - \theta^{slow}),
        \qquad \theta_t = \theta^{slow} \\
        \text{otherwise:}\quad \theta_t &= \phi_t

    The model holds the *fast* parameters (compute gradients with it); the
    slow ones live in the wrapper, ``slow[key]``, starting equal to the
    parameters at the first step: ``opt.slow_params(model)`` returns the model
    with them, for evaluation. Equal to ``optax.lookahead`` (``reset_state=False``)
    with ``optax.LookaheadParams`` holding fast and slow parameters. A parameter
    that ``opt`` gives no update is left alone, slow copy included.

    Parameters
    ----------
    opt : Optimizer
        The fast optimizer.
    sync_period : int
        :math:`k`, the number of fast steps between synchronizations.
    slow_step_size : float
        :math:`\alpha`, the step of the slow weights towards the fast ones.
    state_dtype : dtype, optional
        The dtype of the slow weights and of their arithmetic (default: the
        parameter's), e.g. ``jnp.float32`` for bfloat16 parameters, so that
        small pulls towards the fast weights are not rounded away. The fast
        optimizer's state has its own ``state_dtype``; ``slow_params`` returns
        the parameters' dtype.

    References
    ----------
    Zhang et al., "Lookahead Optimizer: k steps forward, 1 step back", NeurIPS 2019.
    """

    def __init__(
        self,
        opt: Optimizer,
        sync_period: int,
        slow_step_size: float,
        *,
        state_dtype: Any = None,
    ) -> None:
        if not isinstance(sync_period, int) or sync_period < 1:
            raise ValueError(f"sync_period must be an int >= 1, got {sync_period!r}")
        check_range("slow_step_size", slow_step_size, 0, 1, hi_open=False)
        self.opt = opt
        self.sync_period = sync_period
        self.slow_step_size = slow_step_size
        self.slow: dict[str, jax.Array] = {}
        self.state_dtype = as_mu_dtype(state_dtype, "state_dtype")
        self.steps_since_sync = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        sync = self.steps_since_sync == self.sync_period - 1
        self.steps_since_sync = (self.steps_since_sync + 1) % self.sync_period
        out: dict[str, jax.Array | None] = {}
        for key, u in updates.items():
            if u is None:
                out[key] = None
                continue
            p = params[key]
            wide = self.state_dtype is not None
            if key not in self.slow:
                self.slow[key] = p.astype(moment_dtype(self.state_dtype, p)) if wide else p
            slow = self.slow[key]
            fast = p.astype(slow.dtype) - u.astype(slow.dtype) if wide else p - u
            # One update that takes the fast step and, on a sync, jumps to the new slow weights.
            diff = fast - slow
            self.slow[key] = slow + self.slow_step_size * sync * diff
            update = u + sync * (1 - self.slow_step_size) * diff
            # An update in the parameter's dtype, as the fast optimizer's.
            out[key] = update.astype(u.dtype) if wide else update
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def slow_params(self, model: Any) -> Any:
        """``model`` with its parameters replaced by the slow weights (where there are some).

        The arrays are copies: an eager step reuses the buffers of the state.
        """
        keys, leaves, treedef = flat_keys(model)
        return tree_unflatten(
            treedef,
            [
                jnp.array(self.slow[k], x.dtype, copy=True) if k in self.slow else x
                for k, x in zip(keys, leaves)
            ],
        )
