"""What the launched processes of test_multiprocess.py run: ``worker.py MODE DIR``.

``train``: data-parallel training (plain, then ZeRO-1), a sharded checkpoint
saved by all the processes and restored. ``fail``: process 1 fails once process 0
is running. ``sleep``: never finishes. ``coordinator``: run alone, not launched:
``initialize`` against a coordinator that does not answer, one that is not there,
then a count of processes that never join.
"""

from __future__ import annotations

import json
import os
import sys
import time


def train(directory: str) -> None:
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    import flarejax as flr
    from flarejax.sharding import ShardedState, restore, save

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
    import multiprocess as example

    mesh = Mesh(np.array(jax.devices()), ("data",))
    plain, _ = example.train(mesh)
    zero, _ = example.train(mesh, zero=True)

    # A sharded checkpoint: each process writes its half of the ZeRO state.
    _, _, model = example.problem()
    replicated = NamedSharding(mesh, PartitionSpec())
    model = jax.tree.map(lambda a: jax.make_array_from_process_local_data(replicated, a), model)
    opt = ShardedState(flr.optim.Adam(1e-2), mesh)
    opt.init(model)
    grads = jax.tree.map(lambda p: p * 0.5 + 0.1, model)
    model = opt(model, grads)
    shard = opt.opt.m["hidden.w"]
    assert not shard.is_fully_addressable and not shard.is_fully_replicated
    save(os.path.join(directory, "ckpt"), opt, model)
    like = ShardedState(flr.optim.Adam(1e-2), mesh)
    like.init(model)
    new, new_model = restore(os.path.join(directory, "ckpt"), like=(like, model))
    for a, b, c in zip(jax.tree.leaves(new), jax.tree.leaves(opt), jax.tree.leaves(like)):
        assert a.sharding == c.sharding, (a.sharding, c.sharding)
        for x, y in zip(a.addressable_shards, b.addressable_shards):
            np.testing.assert_array_equal(np.asarray(x.data), np.asarray(y.data))
    for x, y in zip(jax.tree.leaves(new_model), jax.tree.leaves(model)):
        np.testing.assert_array_equal(
            np.asarray(x.addressable_data(0)), np.asarray(y.addressable_data(0))
        )
    # Both continue alike.
    a, b = new(new_model, grads), opt(model, grads)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(
            np.asarray(x.addressable_data(0)), np.asarray(y.addressable_data(0))
        )
    print(
        json.dumps(
            {
                "process": jax.process_index(),
                "processes": jax.process_count(),
                "plain": plain,
                "zero": zero,
                "restored": True,
            }
        )
    )


def fail(directory: str) -> None:
    import jax

    if jax.process_index() == 0:
        with open(os.path.join(directory, "pid0"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(directory, "pid0")) and time.monotonic() < deadline:
        time.sleep(0.05)
    raise ValueError("process 1 fails on purpose")


def coordinator() -> None:
    """Not launched: bad coordinators, each a clear error in bounded time."""
    import importlib.util
    import socket
    import threading

    # The launcher's module alone: importing flarejax must not come before initialize.
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "flarejax", "sharding", "_launch.py")
    spec = importlib.util.spec_from_file_location("flarejax_launch", path)
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    free_port, initialize = launch.free_port, launch.initialize

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    accepted = []
    threading.Thread(
        target=lambda: [accepted.append(silent.accept()) for _ in range(8)], daemon=True
    ).start()
    for case, port in [("silent", silent.getsockname()[1]), ("absent", free_port())]:
        start = time.monotonic()
        try:
            initialize(f"127.0.0.1:{port}", 2, 1, timeout=1.0)
            print(json.dumps({"case": case, "error": None}), flush=True)
        except TimeoutError as e:
            took = time.monotonic() - start
            print(json.dumps({"case": case, "error": str(e), "seconds": took}), flush=True)
    # Process 0 of 2, alone: JAX ends the process once the timeout has passed.
    print(json.dumps({"case": "mismatch", "start": time.time()}), flush=True)
    initialize(f"127.0.0.1:{free_port()}", 2, 0, timeout=1.0)
    print(json.dumps({"case": "mismatch", "error": None}), flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "coordinator":
        coordinator()
    elif mode == "sleep":
        time.sleep(120)
    else:
        {"train": train, "fail": fail}[mode](sys.argv[2])
