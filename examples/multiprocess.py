"""Data-parallel training on several processes, with a flarejax optimizer.

Run ``python examples/multiprocess.py [num_processes] [--zero]``: it starts
``num_processes`` (default 2) processes on this machine, which train a small
regression model together, each on its own part of every batch (gradients are
averaged across processes by XLA's collectives, over gloo on CPU). Then it
trains the same model in this single process, on whole batches, and checks that
both give the same parameters. ``--zero`` shards AdamW's state across the
processes (ZeRO-1). The training code does not depend on the number of processes:
on a GPU or TPU cluster only the start differs (the cluster's launcher and
``jax.distributed.initialize()``).
"""

from __future__ import annotations

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import flarejax as flr
from flarejax.sharding import ShardedState, initialize, launch

STEPS = 20


def problem() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    r = np.random.default_rng(0)
    x = r.normal(size=(64, 8)).astype(np.float32)
    y = (np.tanh(x @ r.normal(size=(8, 4))) @ r.normal(size=(4,))).astype(np.float32)
    model = {
        "hidden": {"w": 0.3 * r.normal(size=(8, 16)), "b": np.zeros(16)},
        "out": {"w": 0.3 * r.normal(size=(16,)), "b": np.zeros(())},
    }
    return x, y, jax.tree.map(lambda a: np.asarray(a, np.float32), model)


def loss_fn(model: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ model["hidden"]["w"] + model["hidden"]["b"])
    return jnp.mean((h @ model["out"]["w"] + model["out"]["b"] - y) ** 2)


def train(mesh: Mesh | None = None, zero: bool = False) -> tuple[dict, float]:
    """Train for STEPS full-batch steps; on ``mesh``, the batch is split over its devices."""
    x, y, model = problem()
    opt: flr.optim.Optimizer = flr.optim.AdamW(1e-2, weight_decay=1e-3)
    if mesh is not None:
        # Every process holds the same parameters (replicated) and its own rows of
        # the batch: the global batch is assembled from the process-local parts.
        replicated = NamedSharding(mesh, PartitionSpec())
        rows = NamedSharding(mesh, PartitionSpec("data"))
        model = jax.tree.map(lambda a: jax.make_array_from_process_local_data(replicated, a), model)
        n, i = jax.process_count(), jax.process_index()
        local = slice(i * len(x) // n, (i + 1) * len(x) // n)
        x = jax.make_array_from_process_local_data(rows, x[local], x.shape)
        y = jax.make_array_from_process_local_data(rows, y[local], y.shape)
        if zero:
            opt = ShardedState(opt, mesh, axis="data")
    opt.init(model)
    for _ in range(STEPS):
        model, loss = opt.minimize(loss_fn, model, x, y)
    # Replicated arrays: every process has the whole value on its own devices.
    local_model = jax.tree.map(lambda a: np.asarray(a.addressable_data(0)).tolist(), model)
    return local_model, float(np.asarray(loss.addressable_data(0)))


def worker(zero: bool) -> None:
    mesh = Mesh(np.array(jax.devices()), ("data",))
    model, loss = train(mesh, zero)
    print(json.dumps({"process": jax.process_index(), "loss": loss, "model": model}))


def main() -> None:
    zero = "--zero" in sys.argv
    if initialize():  # started by launch, below: one of the processes
        worker(zero)
        return
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    n = int(numbers[0]) if numbers else 2
    outputs = launch(__file__, n, args=["--zero"] if zero else [], timeout=300)
    results = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    model, loss = train()
    for r in results:
        np.testing.assert_allclose(
            np.concatenate([np.ravel(a) for a in jax.tree.leaves(r["model"])]),
            np.concatenate([np.ravel(a) for a in jax.tree.leaves(model)]),
            rtol=1e-5,
            atol=1e-6,
        )
    how = f"{n} processes" + (" (ZeRO-1)" if zero else "")
    print(f"{how}: loss {results[0]['loss']:.6f}, one process: loss {loss:.6f}; same parameters")


if __name__ == "__main__":
    main()
