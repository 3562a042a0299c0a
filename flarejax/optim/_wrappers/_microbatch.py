"""Gradient accumulation inside one step: a loss function evaluated microbatch by microbatch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..._core.checks import check_steps
from ..._tree import ARRAY_TYPES

__all__ = ["microbatch"]


def _split_batch(x: Any, size: int, axis: int) -> jax.Array:
    """``x`` with its batch axis split into ``(batch // size, size)``, column-major as optax.

    Microbatch ``i`` holds rows ``i, i + n, i + 2n, ...`` (``n`` microbatches): a
    batch sharded along its axis stays sharded within each microbatch.
    """
    x = jnp.asarray(x)
    shape = (*x.shape[:axis], -1, size, *x.shape[axis + 1 :])
    return x.reshape(shape, order="F")


def _cotangent_zero(x: jax.Array) -> Any:
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, jax.dtypes.float0)


def microbatch(
    loss_fn: Callable[..., Any],
    microbatch_size: int,
    argnums: int | Sequence[int] = 1,
    *,
    in_axes: int | Sequence[int] = 0,
    has_aux: bool = False,
) -> Callable[..., Any]:
    r"""``loss_fn(model, *args)`` evaluated microbatch by microbatch, its gradient accumulated.

    The batch arguments (``args`` at ``argnums``, counting the model as 0) are
    split along their batch axis (``in_axes``) into :math:`n` microbatches of
    ``microbatch_size`` examples. The returned function has ``loss_fn``'s
    signature and returns the mean of the microbatch losses,

    .. math::

        L(\theta) = \frac{1}{n} \sum_{i=1}^{n} \ell(\theta, B_i), \qquad
        \nabla L(\theta) = \frac{1}{n} \sum_{i=1}^{n} \nabla \ell(\theta, B_i)

    equal to the loss and gradient of the full batch when ``loss_fn`` averages
    over its examples. Its gradient (``jax.grad``, :meth:`Optimizer.minimize`) is
    accumulated microbatch by microbatch in a loop, so only one microbatch's
    activations are alive at a time: a batch :math:`n` times larger fits in
    memory, for one optimizer step per batch (unlike :class:`MultiSteps`, which
    spreads a step over several calls)::

        model, loss = opt.minimize(microbatch(loss_fn, 32), model, x, y)

    It is differentiable in the model only (the batch arguments get zero
    gradients), as many times as once (no second derivatives). With
    ``has_aux=True``, ``loss_fn`` returns ``(loss, aux)`` and the auxiliary
    outputs come back stacked, one row per microbatch. Microbatch :math:`i`
    holds examples :math:`i, i + n, i + 2n, \dots` (so that a batch sharded
    along its axis stays sharded within each microbatch), as
    ``optax.microbatching.microbatch`` with the ``MEAN`` accumulator splits it;
    the optax function transforms any function, this one a loss for a step.
    The model is a PyTree (``equinox``, ``flax.linen`` parameters, dicts), not
    a ``flax.nnx`` module.

    Parameters
    ----------
    loss_fn : function
        ``loss_fn(model, *args)`` -> scalar loss (or ``(loss, aux)``).
    microbatch_size : int
        Examples per microbatch; divides the batch size.
    argnums : int or sequence of int
        Which arguments hold the batch (the model is argument 0).
    in_axes : int or sequence of int
        The batch axis of each batch argument (one for all, or one per ``argnums``).
    has_aux : bool
        ``loss_fn`` returns ``(loss, aux)``.
    """
    size = check_steps("microbatch_size", microbatch_size, minimum=1)
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or any(not isinstance(i, int) or i < 1 for i in nums):
        raise ValueError(
            f"argnums must be the positions of the batch arguments, >= 1 (the model is "
            f"argument 0), got {argnums!r}"
        )
    axes = (in_axes,) * len(nums) if isinstance(in_axes, int) else tuple(in_axes)
    if len(axes) != len(nums):
        raise ValueError(
            f"in_axes must be one axis or one per batch argument ({len(nums)}), got {in_axes!r}"
        )

    def microbatched(model: Any, *args: Any) -> Any:
        if max(nums) > len(args):
            raise ValueError(
                f"argnums {nums} name arguments the call does not have: it passed the "
                f"model and {len(args)} argument(s)"
            )
        sizes = {np.shape(x)[ax] for i, ax in zip(nums, axes) for x in jax.tree.leaves(args[i - 1])}
        if len(sizes) != 1:
            raise ValueError(f"the batch arguments must share one batch size, got {sorted(sizes)}")
        (batch,) = sizes
        if batch % size:
            raise ValueError(f"microbatch_size ({size}) must divide the batch size ({batch})")
        n = batch // size
        split = list(args)
        for i, ax in zip(nums, axes):
            split[i - 1] = jax.tree.map(lambda x, ax=ax: _split_batch(x, size, ax), args[i - 1])

        # Arrays are the custom_vjp's inputs (traced ones cannot be closed over);
        # other leaves (Python numbers, strings) stay where they are.
        leaves, treedef = jax.tree.flatten((model, split))
        n_model = len(jax.tree.leaves(model))
        at = [i for i, x in enumerate(leaves) if isinstance(x, ARRAY_TYPES)]
        # Differentiated: the model's floating arrays.
        wrt = [i < n_model and jnp.issubdtype(jnp.result_type(leaves[i]), jnp.inexact) for i in at]

        def one(params: list[Any], arrays: list[Any], index: Any) -> Any:
            it = iter(params)
            full = list(leaves)
            for i, x, w in zip(at, arrays, wrt):
                full[i] = next(it) if w else x
            m, parts = jax.tree.unflatten(treedef, full)
            call = list(parts)
            for i, ax in zip(nums, axes):
                call[i - 1] = jax.tree.map(
                    lambda x, ax=ax: jnp.take(x, index, axis=ax), parts[i - 1]
                )
            out = loss_fn(m, *call)
            return out if has_aux else (out, None)

        def accumulate(arrays: list[Any]) -> tuple[Any, list[Any]]:
            params = [x for x, w in zip(arrays, wrt) if w]
            grad_one = jax.value_and_grad(one, has_aux=True)
            (loss_shape, aux_shape), grad_shape = jax.eval_shape(grad_one, params, arrays, 0)

            def body(i: Any, carry: Any) -> Any:
                loss_sum, aux_rows, grad_sum = carry
                (loss, aux), grads = grad_one(params, arrays, i)
                aux_rows = jax.tree.map(lambda rows, a: rows.at[i].set(a), aux_rows, aux)
                return loss_sum + loss, aux_rows, jax.tree.map(jnp.add, grad_sum, grads)

            init = (
                jnp.zeros(loss_shape.shape, loss_shape.dtype),
                jax.tree.map(lambda s: jnp.zeros((n, *s.shape), s.dtype), aux_shape),
                [jnp.zeros(s.shape, s.dtype) for s in grad_shape],
            )
            loss_sum, aux_rows, grad_sum = jax.lax.fori_loop(0, n, body, init)
            mean = (loss_sum / n).astype(loss_shape.dtype)
            return (mean, aux_rows), [(g / n).astype(g.dtype) for g in grad_sum]

        @jax.custom_vjp
        def run(arrays: list[Any]) -> Any:
            return accumulate(arrays)[0]

        def run_fwd(arrays: list[Any]) -> Any:
            out, grads = accumulate(arrays)
            return out, (grads, arrays)

        def run_bwd(res: Any, ct: Any) -> Any:
            grads, arrays = res
            it = iter(grads)
            return (
                [
                    (ct[0] * next(it)).astype(x.dtype) if w else _cotangent_zero(x)
                    for x, w in zip(arrays, wrt)
                ],
            )

        run.defvjp(run_fwd, run_bwd)
        loss, aux = run([jnp.asarray(leaves[i]) for i in at])
        return (loss, aux) if has_aux else loss

    # Name and docstring only: a function with a __dict__ (functools.wraps sets
    # __wrapped__) is not taken apart by minimize, and a new one would recompile.
    microbatched.__name__ = getattr(loss_fn, "__name__", microbatched.__name__)
    microbatched.__doc__ = getattr(loss_fn, "__doc__", None)
    return microbatched
