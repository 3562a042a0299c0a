"""Skipping whole steps: on non-finite gradients, or on gradients too large."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._core.guard import run_if
from .._base import Optimizer
from .._checks import check_positive
from .._optimizers._complex import sum_abs_sq
from .._substep import substep

__all__ = ["SkipLargeUpdates", "SkipNonFinite"]


def _step_unless(
    skip: jax.Array, opt: Optimizer, grads: dict[str, jax.Array], params: Any, extras: Any
) -> dict[str, jax.Array | None]:
    """``opt``'s updates, or zeros and ``opt`` untouched where ``skip``."""
    updates = run_if(~skip, opt, lambda: substep(opt, grads, params, extras))
    return {
        k: None if u is None else jnp.where(skip, jnp.zeros_like(u), u) for k, u in updates.items()
    }


class SkipNonFinite(Optimizer):
    r"""Skip the steps whose gradients hold a NaN or an infinity.

    .. math::

        \theta_t, s_t = \begin{cases} \theta_{t-1}, s_{t-1} & g_t \text{ not finite} \\
        \mathrm{opt}(\theta_{t-1}, s_{t-1}, g_t) & \text{otherwise} \end{cases}

    A skipped step changes neither the parameters nor any state of ``opt``
    (its moments, its step counter, its schedules). After more than
    ``max_consecutive_errors`` skips in a row, the next non-finite step is
    applied, as ``optax.apply_if_finite`` (equal to it) does. Counters:
    ``notfinite_count`` (skips in a row), ``last_finite``, ``total_notfinite``.
    torch's ``GradScaler`` skips such steps in mixed-precision training.

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    max_consecutive_errors : int, optional
        How many non-finite steps in a row to skip before applying one anyway;
        ``None`` (default) skips them all.
    """

    def __init__(self, opt: Optimizer, max_consecutive_errors: int | None = None) -> None:
        if max_consecutive_errors is not None and max_consecutive_errors < 0:
            raise ValueError(
                f"max_consecutive_errors must be >= 0 or None, got {max_consecutive_errors}"
            )
        self.opt = opt
        self.max_consecutive_errors = max_consecutive_errors
        self.notfinite_count = jnp.zeros((), jnp.int32)
        self.last_finite = jnp.array(True)
        self.total_notfinite = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in grads.values()] or [True]))
        self.notfinite_count = jnp.where(finite, 0, self.notfinite_count + 1)
        self.last_finite = finite
        self.total_notfinite = jnp.where(finite, self.total_notfinite, self.total_notfinite + 1)
        skip = ~finite
        if self.max_consecutive_errors is not None:
            skip = skip & (self.notfinite_count <= self.max_consecutive_errors)
        return _step_unless(skip, self.opt, grads, params, extras)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad


class SkipLargeUpdates(Optimizer):
    r"""Skip the steps whose gradient has a squared global norm of at least a maximum.

    .. math::

        \theta_t, s_t = \begin{cases} \theta_{t-1}, s_{t-1} & \sum_p \|g_p\|^2 \ge m \\
        \mathrm{opt}(\theta_{t-1}, s_{t-1}, g_t) & \text{otherwise} \end{cases}

    A skipped step changes neither the parameters nor any state of ``opt``; a
    NaN norm is skipped too. Equal to ``optax.MultiSteps(opt, 1,
    should_skip_update_fn=partial(optax.skip_large_updates, max_squared_norm=m))``.
    ``norm_squared`` holds the last step's squared norm and ``total_skipped``
    the number of skipped steps. torch has no built-in equivalent.

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    max_squared_norm : float
        The squared global gradient norm :math:`m` from which a step is skipped.
    """

    def __init__(self, opt: Optimizer, max_squared_norm: float) -> None:
        check_positive("max_squared_norm", max_squared_norm)
        self.opt = opt
        self.max_squared_norm = max_squared_norm
        self.norm_squared = jnp.zeros((), jnp.float32)
        self.total_skipped = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        norm_sq = jnp.sum(jnp.array([sum_abs_sq(g) for g in grads.values()] or [0.0]))
        skip = ~(norm_sq < self.max_squared_norm)
        self.norm_squared = norm_sq.astype(jnp.float32)
        self.total_skipped = self.total_skipped + skip.astype(jnp.int32)
        return _step_unless(skip, self.opt, grads, params, extras)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
