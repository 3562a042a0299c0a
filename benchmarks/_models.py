"""The benchmark models: parameter trees, gradients, a loss, and their Flax/Equinox twins.

Every model is a plain dict of float32 arrays (what optax, Equinox and flarejax
take as is); the NNX and PyTorch peers get the same shapes in their own types.

========  ==========================================  ======  ===========
name      what                                        leaves  parameters
========  ==========================================  ======  ===========
mlp       MLP 784-512-512-10, batch 128, ReLU         6       669,706
leaves    500 separate (64, 64) parameters            500     2,048,000
matrix    one 4096 x 4096 parameter                   1       16,777,216
tiny      100 leaves of shape (4,)                    100     400
========  ==========================================  ======  ===========
"""

from __future__ import annotations

import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "BATCH",
    "LR",
    "MLP_SIZES",
    "grads_like",
    "leaves_params",
    "make",
    "mlp_batch",
    "mlp_loss",
    "mlp_params",
    "nnx_grads",
    "nnx_mlp",
    "nnx_module",
    "size",
    "vector_params",
]

LR = 1e-3
MLP_SIZES = (784, 512, 512, 10)
BATCH = 128
Params = dict[str, Any]


def _normal(seed: int, shape: tuple[int, ...], scale: float) -> jax.Array:
    # NumPy, not jax.random: no compilation per shape while building models.
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.standard_normal(shape, dtype=np.float32) * scale)


def mlp_params(seed: int = 0) -> Params:
    layers = {}
    for i, (n_in, n_out) in enumerate(itertools.pairwise(MLP_SIZES)):
        layers[f"l{i}"] = {
            "w": _normal(seed + i, (n_in, n_out), n_in**-0.5),
            "b": jnp.zeros((n_out,), jnp.float32),
        }
    return layers


def mlp_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    h = x
    n = len(params)
    for i in range(n):
        h = h @ params[f"l{i}"]["w"] + params[f"l{i}"]["b"]
        if i < n - 1:
            h = jax.nn.relu(h)
    return _xent(h, y)


def _xent(logits: jax.Array, y: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def mlp_batch(seed: int = 1) -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, MLP_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, MLP_SIZES[-1], size=(BATCH,), dtype=np.int32)
    return jnp.asarray(x), jnp.asarray(y)


def leaves_params(n: int = 500, shape: tuple[int, ...] = (64, 64)) -> Params:
    width = len(str(n - 1))
    return {f"p{i:0{width}d}": _normal(i, shape, 0.05) for i in range(n)}


def vector_params(n: int) -> Params:
    """One parameter of ``n`` elements (the parameter-count sweep)."""
    return {"w": _normal(0, (n,), 0.05)}


def make(name: str) -> Params:
    if name == "mlp":
        return mlp_params()
    if name == "leaves":
        return leaves_params(500, (64, 64))
    if name == "matrix":
        return {"w": _normal(0, (4096, 4096), 0.01)}
    if name == "tiny":
        return leaves_params(100, (4,))
    raise ValueError(f"unknown model {name!r}")


def grads_like(params: Any, seed: int = 123) -> Any:
    """Fixed, non-zero gradients (no denormals in the second moment)."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    out = [_normal(seed + i, tuple(x.shape), 1e-2) for i, x in enumerate(leaves)]
    return jax.tree_util.tree_unflatten(treedef, out)


def size(params: Any) -> dict[str, Any]:
    leaves = jax.tree_util.tree_leaves(params)
    return {"leaves": len(leaves), "params": int(sum(np.size(x) for x in leaves))}


# -- Flax NNX twins ------------------------------------------------------------------


def _flat(params: Params) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        out["_".join(str(getattr(k, "key", k)) for k in path)] = leaf
    return out


def nnx_module(params: Params) -> Any:
    """An ``nnx.Module`` holding one ``nnx.Param`` per leaf of ``params`` (copied)."""
    from flax import nnx

    class Holder(nnx.Module):
        pass

    module = Holder()
    for name, leaf in _flat(params).items():
        setattr(module, name, nnx.Param(jnp.array(leaf)))
    return module


def nnx_grads(module: Any, grads: Params) -> Any:
    """``grads`` as the ``nnx.State`` of the module's parameters."""
    from flax import nnx

    flat = _flat(grads)
    state = nnx.state(module, nnx.Param)
    return jax.tree_util.tree_map_with_path(lambda path, _: flat[str(path[0].key)], state)


def nnx_mlp(seed: int = 0) -> tuple[Any, Any]:
    """The MLP as an NNX module (``nnx.Linear`` layers) and its loss function."""
    from flax import nnx

    class MLP(nnx.Module):
        def __init__(self, rngs: nnx.Rngs) -> None:
            s = MLP_SIZES
            self.l0 = nnx.Linear(s[0], s[1], rngs=rngs)
            self.l1 = nnx.Linear(s[1], s[2], rngs=rngs)
            self.l2 = nnx.Linear(s[2], s[3], rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.l2(jax.nn.relu(self.l1(jax.nn.relu(self.l0(x)))))

    def loss(model: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return _xent(model(x), y)

    return MLP(nnx.Rngs(seed)), loss


def eqx_mlp(seed: int = 0) -> tuple[Any, Any]:
    """The MLP as ``equinox.nn.MLP`` (weights stored (out, in)) and its loss function."""
    import equinox as eqx

    model = eqx.nn.MLP(
        MLP_SIZES[0],
        MLP_SIZES[-1],
        MLP_SIZES[1],
        len(MLP_SIZES) - 2,
        activation=jax.nn.relu,
        key=jax.random.key(seed),
    )

    def loss(model: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return _xent(jax.vmap(model)(x), y)

    return model, loss
