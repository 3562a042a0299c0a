"""Running an optimizer only at the steps a condition selects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._core.guard import run_if
from .._base import Optimizer
from .._substep import substep

__all__ = ["ConditionallyMask", "ConditionallyTransform"]


def _check_condition(fn: Any) -> None:
    if not callable(fn):
        raise TypeError(
            "should_transform_fn must be a function of the step count (and, with "
            f"forward_extra_args=True, of the step's keyword arguments), got {type(fn).__name__}"
        )


class _Conditional(Optimizer):
    """The shared machinery: a step counter, the condition, ``opt`` stepped or left alone."""

    def __init__(
        self,
        opt: Optimizer,
        should_transform_fn: Callable[..., Any],
        forward_extra_args: bool = False,
    ) -> None:
        _check_condition(should_transform_fn)
        self.opt = opt
        self.should_transform_fn = should_transform_fn
        self.forward_extra_args = forward_extra_args
        self.step = jnp.zeros((), jnp.int32)

    def _otherwise(self, grad: jax.Array) -> jax.Array:
        raise NotImplementedError

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        kwargs = extras if self.forward_extra_args else {}
        run = jnp.asarray(self.should_transform_fn(self.step, **kwargs), bool).reshape(())
        updates = run_if(run, self.opt, lambda: substep(self.opt, grads, params, extras))
        # Saturates rather than wraps, as optax.safe_increment.
        self.step = jnp.where(self.step == jnp.iinfo(jnp.int32).max, self.step, self.step + 1)
        return {
            k: None if u is None else jnp.where(run, u, self._otherwise(grads[k]))
            for k, u in updates.items()
        }

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad


class ConditionallyTransform(_Conditional):
    r"""Step ``opt`` where a condition of the step count holds; else pass the gradients on.

    .. math::

        u_t = \begin{cases} \mathrm{opt}(g_t) & f(t) \\ g_t & \text{otherwise}
        \end{cases}

    At the other steps ``opt``'s state (moments, counters, schedules) stays as
    it was. :math:`t` (``step``) counts the calls from 0. Usually a member of a
    :class:`Chain` around a transform, e.g. clipping only during warm-up:
    ``Chain(ConditionallyTransform(ClipByGlobalNorm(1.0), lambda t: t < 1000),
    Adam(1e-3))``; at the top level, a step where :math:`f` is false subtracts
    the raw gradient. Equal to ``optax.conditionally_transform``; see
    :class:`ConditionallyMask` to give no update instead.

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    should_transform_fn : function
        :math:`f`: the step count (an int32 scalar) to a boolean scalar; a
        plain Python function (it is part of the optimizer's structure).
    forward_extra_args : bool
        Also pass the step's keyword arguments (``opt(model, grads, loss=l)``)
        to ``should_transform_fn``.
    """

    def _otherwise(self, grad: jax.Array) -> jax.Array:
        return grad


class ConditionallyMask(_Conditional):
    r"""Step ``opt`` where a condition of the step count holds; else give zero updates.

    .. math::

        u_t = \begin{cases} \mathrm{opt}(g_t) & f(t) \\ 0 & \text{otherwise}
        \end{cases}

    At the other steps neither the parameters nor ``opt``'s state change (the
    wrapper's ``step`` still counts). :math:`t` (``step``) counts the calls
    from 0; e.g. ``ConditionallyMask(Adam(1e-3), lambda t: t % 2 == 0)`` steps
    every other call. Equal to ``optax.conditionally_mask``; see
    :class:`ConditionallyTransform` to pass the gradients on instead.

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    should_transform_fn : function
        :math:`f`: the step count (an int32 scalar) to a boolean scalar; a
        plain Python function (it is part of the optimizer's structure).
    forward_extra_args : bool
        Also pass the step's keyword arguments (``opt(model, grads, loss=l)``)
        to ``should_transform_fn``.
    """

    def _otherwise(self, grad: jax.Array) -> jax.Array:
        return jnp.zeros_like(grad)
