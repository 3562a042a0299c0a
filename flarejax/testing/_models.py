"""The models, objectives and gradient streams that ``check_optimizer`` runs on."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_unflatten

from .._tree import flat_keys, is_param

__all__ = [
    "Dense",
    "default_models",
    "grads_of",
    "linesearch_extras",
    "loss_extras",
    "params_only",
    "quadratic",
    "rosenbrock",
    "rosenbrock_start",
]


class Dense(NamedTuple):
    """A NamedTuple layer, as Flax and Equinox users often have."""

    kernel: Any
    bias: Any


def default_models(dtype: Any = jnp.float32) -> dict[str, Any]:
    """The small PyTrees ``check_optimizer`` uses when ``models=None``.

    ``"nested"`` mixes a dict, a list, a tuple and a NamedTuple, a matrix, a
    vector and a scalar parameter, empty subtrees and non-parameter leaves (an
    int array, a bool array, a Python int, a string); ``"array"`` is a bare
    ``(4, 6)`` matrix (its key is ``""``). They are small: compiling the steps
    is most of what a check costs.
    """
    r = np.random.default_rng(0)

    def a(*shape: int) -> jax.Array:
        return jnp.asarray(r.normal(size=shape), dtype)

    return {
        "nested": {
            "dense": Dense(a(3, 2), a(2)),
            "blocks": [(a(), {"empty": {}}), []],
            "step": jnp.arange(2, dtype=jnp.int32),
            "mask": jnp.array([True, False]),
            "depth": 2,
            "name": "mlp",
        },
        "array": a(4, 6),
    }


@functools.lru_cache(maxsize=512)
def _target(key: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    # Seeded by a CRC of the key, not hash(): the same in every process.
    r = np.random.default_rng(zlib.crc32(f"{key}:{shape}".encode()))
    return r.normal(size=shape).astype(np.float32), r.uniform(0.5, 2.0, shape).astype(np.float32)


def quadratic(model: Any) -> jax.Array:
    r"""The objective of the checks: :math:`\sum_k \sum c_k |\theta_k - \tau_k|^2`.

    Over the parameters (inexact array leaves) of any model; the target
    :math:`\tau_k` and curvature :math:`c_k \in [0.5, 2]` of each parameter are
    fixed by its dotted key and shape. Non-parameter and ``None`` leaves are
    ignored, so it also takes ``params_only(model)``. Complex parameters count
    by their squared modulus (the loss stays real).
    """
    keys, leaves, _ = flat_keys(model)
    total = jnp.zeros((), jnp.float32)
    for key, x in zip(keys, leaves):
        if is_param(x):
            target, c = _target(key, tuple(x.shape))
            if jnp.iscomplexobj(x):
                d = x.astype(jnp.complex64) - target
                total = total + jnp.sum(c * (jnp.square(d.real) + jnp.square(d.imag)))
            else:
                d = x.astype(jnp.float32) - target
                total = total + jnp.sum(c * d * d)
    return total


def rosenbrock_start(model: Any) -> Any:
    """``model`` with its parameters set to Rosenbrock's classic start ``(-1.2, 1, -1.2, ...)``.

    The values alternate over the parameters' elements, in leaf order.
    """
    _, leaves, treedef = flat_keys(model)
    new, offset = [], 0
    for x in leaves:
        if is_param(x):
            flat = np.where(np.arange(offset, offset + x.size) % 2 == 0, -1.2, 1.0)
            new.append(jnp.asarray(flat.reshape(x.shape), x.dtype))
            offset += x.size
        else:
            new.append(x)
    return tree_unflatten(treedef, new)


def rosenbrock(model: Any) -> jax.Array:
    r"""The chained Rosenbrock function of all parameter elements :math:`z` of ``model``.

    .. math::

        f(z) = \sum_{i=1}^{n-1} (1 - z_i)^2 + 100\, (z_{i+1} - z_i^2)^2

    (for :math:`n = 1`, :math:`(1 - z_1)^2`); minimum 0 at :math:`z = 1`. From
    :func:`rosenbrock_start`, it is the classic banana valley in every pair.
    """
    z = [x.astype(jnp.float32).ravel() for x in jax.tree_util.tree_leaves(model) if is_param(x)]
    v = jnp.concatenate(z) if z else jnp.zeros((0,), jnp.float32)
    if v.size == 1:
        return jnp.sum((1 - v) ** 2)
    return jnp.sum((1 - v[:-1]) ** 2 + 100 * (v[1:] - v[:-1] ** 2) ** 2)


def params_only(model: Any) -> Any:
    """``model`` with its non-parameter leaves replaced by ``None``."""
    _, leaves, treedef = flat_keys(model)
    return tree_unflatten(treedef, [x if is_param(x) else None for x in leaves])


@functools.lru_cache(maxsize=64)
def _value_and_grad(loss_fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return jax.jit(jax.value_and_grad(loss_fn))


def grads_of(
    loss_fn: Callable[[Any], Any], model: Any, frozen: frozenset[str] = frozenset()
) -> Any:
    """The gradient of ``loss_fn`` at ``model``, with ``None`` at non-parameters.

    Parameters whose key is in ``frozen`` get a ``None`` gradient as well.
    """
    keys, leaves, treedef = flat_keys(model)
    params = params_only(model)
    grads = _value_and_grad(loss_fn)(params)[1]
    g_keys, g_leaves, _ = flat_keys(grads)
    by_key = dict(zip(g_keys, g_leaves))
    return tree_unflatten(
        treedef,
        [by_key[k] if is_param(x) and k not in frozen else None for k, x in zip(keys, leaves)],
    )


def loss_extras(model: Any, step: int, loss_fn: Callable[[Any], Any]) -> dict[str, Any]:
    """``extras=`` for optimizers that need the loss: ``{"loss": loss_fn(model)}``."""
    return {"loss": loss_fn(model)}


def linesearch_extras(model: Any, step: int, loss_fn: Callable[[Any], Any]) -> dict[str, Any]:
    """``extras=`` for line searches (``LBFGS``): ``loss=`` and ``loss_fn=``."""
    return {"loss": loss_fn(model), "loss_fn": loss_fn}
