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
    "rosenbrock_model",
]


class Dense(NamedTuple):
    """A NamedTuple layer, as Flax and Equinox users often have."""

    kernel: Any
    bias: Any


def default_models(dtype: Any = jnp.float32) -> dict[str, Any]:
    """The small PyTrees ``check_optimizer`` uses when ``models=None``.

    ``"nested"`` mixes dicts, lists, tuples and a NamedTuple, scalar and matrix
    parameters, empty subtrees and non-parameter leaves (an int array, a bool
    array, a Python int, a string); ``"matrix"`` is a single ``(8, 16)`` matrix.
    """
    r = np.random.default_rng(0)

    def a(*shape: int) -> jax.Array:
        return jnp.asarray(r.normal(size=shape), dtype)

    return {
        "nested": {
            "layers": [Dense(a(4, 3), a(3)), Dense(a(3, 2), a(2))],
            "scale": a(),
            "pair": (a(2), {"gain": a(1)}),
            "empty": {"list": [], "dict": {}},
            "step": jnp.arange(3, dtype=jnp.int32),
            "mask": jnp.array([True, False]),
            "depth": 2,
            "name": "mlp",
        },
        "matrix": a(8, 16),
    }


@functools.lru_cache(maxsize=512)
def _target(key: str, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    # Seeded by a CRC of the key, not hash(): the same in every process.
    r = np.random.default_rng(zlib.crc32(f"{key}:{shape}".encode()))
    return r.normal(size=shape).astype(np.float32), r.uniform(0.5, 2.0, shape).astype(np.float32)


def quadratic(model: Any) -> jax.Array:
    r"""The objective of the checks: :math:`\sum_k \sum c_k (\theta_k - \tau_k)^2`.

    Over the parameters (inexact array leaves) of any model; the target
    :math:`\tau_k` and curvature :math:`c_k \in [0.5, 2]` of each parameter are
    fixed by its dotted key and shape. Non-parameter and ``None`` leaves are
    ignored, so it also takes ``params_only(model)``.
    """
    keys, leaves, _ = flat_keys(model)
    total = jnp.zeros((), jnp.float32)
    for key, x in zip(keys, leaves):
        if is_param(x):
            target, c = _target(key, tuple(x.shape))
            d = x.astype(jnp.float32) - target
            total = total + jnp.sum(c * d * d)
    return total


def rosenbrock_model(dtype: Any = jnp.float32) -> dict[str, Any]:
    """The start of the Rosenbrock check: ``{"xy": [-1.2, 1.0]}``, the classic one."""
    return {"xy": jnp.array([-1.2, 1.0], dtype)}


def rosenbrock(model: Any) -> jax.Array:
    r""":math:`(1 - x)^2 + 100 (y - x^2)^2` at ``model["xy"] = (x, y)``; minimum 0 at (1, 1)."""
    x, y = model["xy"][0].astype(jnp.float32), model["xy"][1].astype(jnp.float32)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


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
