"""Many same-shape layers: N leaves, or one stacked leaf that the model scans over.

``python benchmarks/many_leaves.py [--leaves 100 1000] [--reps 15]``

For N layers of (16, 16) weights, the Adam update (``flarejax`` jit with
donation, and optax's for reference) on the per-leaf model (N leaves) and on
the stacked model (one (N, 16, 16) leaf, as a model built with
``eqx.filter_vmap`` or ``nnx.vmap`` and applied with ``jax.lax.scan`` holds
them), and ``torch.optim.Adam(fused=True)`` on N tensors. Reported: the first
call (trace + compile + one run, caches cleared) and the median steady step.
The numbers of the guide "Models with many leaves" come from this script.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

import flarejax as flr

SHAPE = (16, 16)


def per_leaf(n: int) -> dict[str, jax.Array]:
    return {f"layer{i}": jnp.full(SHAPE, 0.01 * (i % 7), jnp.float32) for i in range(n)}


def stacked(n: int) -> dict[str, jax.Array]:
    return {"layers": jnp.stack(list(per_leaf(n).values()))}


def flarejax_step(params: Any) -> tuple[Callable[..., Any], list[Any]]:
    opt = flr.optim.Adam(1e-3)
    opt.init(params)
    step = jax.jit(lambda o, p, g: (o, o(p, g)), donate_argnums=(0, 1))
    return step, [opt, params]


def optax_step(params: Any) -> tuple[Callable[..., Any], list[Any]]:
    tx = optax.adam(1e-3)

    def update(p: Any, s: Any, g: Any) -> Any:
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    return jax.jit(update, donate_argnums=(0, 1)), [params, tx.init(params)]


def measure(make: Callable[[Any], Any], params: Any, reps: int) -> tuple[float, float]:
    """(first call in s, median steady step in ms)."""
    grads = jax.tree.map(lambda x: x * 0 + 1e-3, params)
    params = jax.tree.map(jnp.copy, params)
    step, carry = make(params)
    jax.block_until_ready(carry)
    jax.clear_caches()
    gc.collect()
    t0 = time.perf_counter()
    carry = list(step(*carry, grads))
    jax.block_until_ready(carry)
    first = time.perf_counter() - t0
    for _ in range(3):
        carry = list(step(*carry, grads))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(5):
            carry = list(step(*carry, grads))
        jax.block_until_ready(carry)
        times.append((time.perf_counter() - t0) / 5)
    return first, statistics.median(times) * 1e3


def torch_fused(n: int, reps: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    ps = [torch.zeros(SHAPE, requires_grad=True) for _ in range(n)]
    for p in ps:
        p.grad = torch.full(SHAPE, 1e-3)
    opt = torch.optim.Adam(ps, lr=1e-3, fused=True)
    for _ in range(3):
        opt.step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(5):
            opt.step()
        times.append((time.perf_counter() - t0) / 5)
    return statistics.median(times) * 1e3


PEERS = {"flarejax jit+donate": flarejax_step, "optax jit+donate": optax_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, layers of {SHAPE}")
    for n in args.leaves:
        for model, params in (("per-leaf", per_leaf(n)), ("stacked", stacked(n))):
            for name, make in (
                ("flarejax jit+donate", flarejax_step),
                ("optax jit+donate", optax_step),
            ):
                first, step = measure(make, params, args.reps)
                print(
                    f"N={n:5d} {model:8s} {name:20s} first call {first:7.2f} s, step {step:7.3f} ms"
                )
        fused = torch_fused(n, args.reps)
        if fused is not None:
            print(f"N={n:5d} per-leaf torch fused           step {fused:7.3f} ms")


if __name__ == "__main__":
    main()
