"""A float32 master copy of low-precision parameters."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._optimizers._mu_dtype import moment_dtype
from .._substep import substep

__all__ = ["MasterWeights"]


class MasterWeights(Optimizer):
    r"""Train low-precision parameters through a high-precision master copy.

    The wrapped optimizer sees float32 parameters and gradients, so its state
    is float32 and its small updates accumulate in the master copy instead of
    vanishing in bfloat16 rounding; the model receives the master copy rounded
    to its own dtype:

    .. math::

        \hat\theta_t = \hat\theta_{t-1} - u_t(\hat\theta_{t-1}, g_t), \qquad
        \theta_t = \operatorname{round}_{\text{bf16}}(\hat\theta_t)

    The master copy is built from the parameter on its first step (or by
    ``init``); it is the source of truth from then on, so a parameter changed
    outside the optimizer is not seen by it.

    Parameters
    ----------
    opt : Optimizer
        The optimizer to run on the master copy.
    dtype : dtype
        The master copy's dtype (for a complex parameter: the complex dtype of
        this precision, e.g. ``complex64`` for ``float32``).

    References
    ----------
    Micikevicius et al., "Mixed Precision Training", ICLR 2018.
    """

    def __init__(self, opt: Optimizer, dtype: Any = jnp.float32) -> None:
        self.opt = opt
        self.dtype = jnp.dtype(dtype)
        self.master: dict[str, jax.Array] = {}

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        # A complex parameter's master copy is complex at self.dtype's precision.
        dtypes = {key: moment_dtype(self.dtype.name, g) for key, g in grads.items()}
        for key in grads:
            if key not in self.master:
                self.master[key] = params[key].astype(dtypes[key])
        master = {key: self.master[key] for key in grads}
        wide = {key: g.astype(dtypes[key]) for key, g in grads.items()}
        updates = substep(self.opt, wide, master, extras)
        out: dict[str, jax.Array | None] = {}
        for key, update in updates.items():
            if update is None:
                out[key] = None
                continue
            self.master[key] = self.master[key] - update
            # The base subtracts this from the parameter: the result is the master.
            out[key] = params[key].astype(dtypes[key]) - self.master[key]
        return out
