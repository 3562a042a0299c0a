"""ShardedState on this process's one device, and its arguments (no subprocess)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import Mesh, PartitionSpec

import flarejax as flr
from flarejax.sharding import ShardedState, zero_spec


def test_zero_spec() -> None:
    assert zero_spec((64, 32), 8, "data") == PartitionSpec("data")
    assert zero_spec((12, 32), 8, "data") == PartitionSpec(None, "data")
    assert zero_spec((32, 32), 8, "data") == PartitionSpec("data")  # the first
    assert zero_spec((5, 3), 8, "data") == PartitionSpec()
    assert zero_spec((), 8, "data") == PartitionSpec()
    assert zero_spec((64,), 1, "data") == PartitionSpec()


def test_same_as_the_wrapped_optimizer() -> None:
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    model = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    opt = ShardedState(flr.optim.Adam(0.1), mesh)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=0.1)  # float32 constants
    params, state = model, tx.init(model)
    opt.init(model)
    for i in range(5):
        grads = jax.tree.map(lambda p, i=i: jnp.cos(p * (i + 1)), model)
        model = opt(model, grads)
        updates, state = tx.update(jax.tree.map(lambda p, i=i: jnp.cos(p * (i + 1)), params), state)
        params = optax.apply_updates(params, updates)
    for a, b in zip(jax.tree.leaves(model), jax.tree.leaves(params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert opt.hyperparameters()["learning_rate"] == pytest.approx(0.1)


def test_invalid_arguments() -> None:
    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    with pytest.raises(ValueError, match="opt must be an Optimizer, got GradientTransformation"):
        ShardedState(optax.adam(0.1), mesh)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"mesh must be a jax\.sharding\.Mesh, got list"):
        ShardedState(flr.optim.Adam(0.1), [mesh])  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"axis must be one of the mesh's axes \('data',\), got 'x'"
    ):
        ShardedState(flr.optim.Adam(0.1), mesh, axis="x")
