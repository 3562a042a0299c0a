"""Gradient accumulation: one optimizer step every k calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._core.guard import run_if
from .._base import Optimizer
from .._optimizers._mu_dtype import as_mu_dtype, moment_dtype
from .._substep import substep

__all__ = ["MultiSteps"]


class MultiSteps(Optimizer):
    r"""Accumulate the gradients of :math:`k` calls, then take one step of ``opt`` with them.

    .. math::

        \bar g_j = \bar g_{j-1} + (g_j - \bar g_{j-1}) / j \quad (j = 1..k), \qquad
        \theta \leftarrow \theta - \mathrm{opt}(\bar g_k) \text{ at } j = k

    The parameters and ``opt``'s state change only at every :math:`k`-th call;
    the other calls return the parameters unchanged. ``mini_step`` counts the
    calls since the last step, ``gradient_step`` the steps taken, and
    ``has_updated()`` says whether the last call stepped. Equal to
    ``optax.MultiSteps``; in torch, call ``optimizer.step()`` every k backward
    passes (summing, i.e. ``use_grad_mean=False``, unless the loss is divided by k).

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    every_k_schedule : int or schedule
        :math:`k`, or a function of ``gradient_step`` returning it (varying
        the effective batch size).
    use_grad_mean : bool
        Average the accumulated gradients (default) instead of summing them.
    accumulator_dtype : dtype, optional
        The dtype of the accumulated gradients (float32, as optax); ``None``
        for the gradient's own dtype. Complex gradients accumulate in the
        complex dtype of this precision (optax 0.2.8 drops their imaginary part).
    """

    def __init__(
        self,
        opt: Optimizer,
        every_k_schedule: int | Callable[..., Any],
        use_grad_mean: bool = True,
        accumulator_dtype: Any = jnp.float32,
    ) -> None:
        if not callable(every_k_schedule) and every_k_schedule < 1:
            raise ValueError(f"every_k_schedule must be >= 1, got {every_k_schedule}")
        self.opt = opt
        self.every_k_schedule = every_k_schedule
        self.use_grad_mean = use_grad_mean
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.acc_grads: dict[str, jax.Array] = {}
        self.mini_step = jnp.zeros((), jnp.int32)
        self.gradient_step = jnp.zeros((), jnp.int32)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        k = self.every_k_schedule
        k = k(self.gradient_step) if callable(k) else k
        acc = {}
        for key, g in grads.items():
            if key not in self.acc_grads:
                self.acc_grads[key] = jnp.zeros(
                    g.shape, moment_dtype(self.accumulator_dtype, g) or g.dtype
                )
            prev = self.acc_grads[key]
            acc[key] = prev + (g - prev) / (self.mini_step + 1) if self.use_grad_mean else g + prev
        emit = self.mini_step == k - 1
        acc_g = {key: a.astype(grads[key].dtype) for key, a in acc.items()}
        updates = run_if(emit, self.opt, lambda: substep(self.opt, acc_g, params, extras))
        for key, a in acc.items():
            self.acc_grads[key] = jnp.where(emit, jnp.zeros_like(a), a).astype(
                self.acc_grads[key].dtype
            )
        self.mini_step = (self.mini_step + 1) % k
        self.gradient_step = jnp.where(emit, self.gradient_step + 1, self.gradient_step)
        return {
            key: None if u is None else jnp.where(emit, u, jnp.zeros_like(u))
            for key, u in updates.items()
        }

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def has_updated(self) -> jax.Array:
        """Whether the last call took a step of the wrapped optimizer."""
        return (self.mini_step == 0) & (self.gradient_step > 0)
