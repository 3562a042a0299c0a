"""Habits users bring, measured: ``python benchmarks/habits.py [--steps N]``.

- ``minimize`` with a new closure (or ``functools.partial``) over a new batch
  every step, against the same top-level function: milliseconds per step and
  compilations (one per code, not one per closure);
- the resident memory over ``--steps`` such steps with a new 4 MiB batch each
  (flat: nothing keeps an old closure or its batch alive);
- the eager Adam step (``opt(model, grads)``, and with ``donate=True``) on a
  4096×4096 matrix and on 100 tiny leaves, beside the project's own jitted step
  (optimizer and parameters donated): median wall time and the calling
  thread's CPU time per step (the Python around the compiled call).
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr

_COMPILES = [0]


def _count(event: str, *_: Any, **__: Any) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


def compiled_steps() -> int:
    """XLA compilations so far in this process (of any function)."""
    return _COMPILES[0]


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _loss(m: Any, batch: Any) -> Any:
    return jnp.mean((jnp.tanh(batch["x"] @ m["w"]) @ m["v"] - batch["y"]) ** 2)


def closures(steps: int = 30) -> None:
    rng = np.random.default_rng(0)
    batches = [
        {
            "x": jnp.asarray(rng.normal(size=(1024, 512)), jnp.float32),
            "y": jnp.asarray(rng.normal(size=(1024, 8)), jnp.float32),
        }
        for _ in range(4)
    ]
    for style in ("top-level", "lambda", "partial"):
        opt = flr.optim.Adam(1e-3)
        model = {"w": jnp.ones((512, 256)) * 0.01, "v": jnp.ones((256, 8)) * 0.01}
        before = compiled_steps()
        for i in range(steps + 3):
            if i == 3:
                jax.block_until_ready(model)
                t0 = time.perf_counter()
            b = batches[i % 4]
            if style == "lambda":
                model, _ = opt.minimize(lambda m, b=b: _loss(m, b), model)
            elif style == "partial":
                model, _ = opt.minimize(functools.partial(_loss, batch=b), model)
            else:
                model, _ = opt.minimize(_loss, model, b)
        jax.block_until_ready(model)
        ms = (time.perf_counter() - t0) / steps * 1e3
        print(f"minimize, {style:9s}: {ms:7.2f} ms/step, {compiled_steps() - before} compiles")


def memory(steps: int) -> None:
    opt = flr.optim.Adam(1e-3)
    model = {"w": jnp.ones((1024, 8)) * 0.01}
    for i in range(steps):
        batch = jnp.full((1024, 1024), float(i % 7), jnp.float32)  # 4 MiB
        # Called at once: capturing the loop variable is the habit measured.
        model, _ = opt.minimize(lambda m: jnp.mean((batch @ m["w"]) ** 2), model)  # noqa: B023
        if i in (20, steps - 1):
            jax.block_until_ready(model)
            print(f"closure over a new 4 MiB batch, step {i + 1}: RSS {_rss_mib():.0f} MiB")


def _steps(mode: str) -> Any:
    """One Adam step on (opt, model, grads) -> (opt, model), as ``mode`` runs it."""
    if mode == "eager":
        return lambda opt, model, grads: (opt, opt(model, grads))
    if mode == "eager, donate=True":
        return lambda opt, model, grads: (opt, opt(model, grads, donate=True))
    # The project's own jitted step, optimizer and parameters donated.
    return jax.jit(lambda opt, model, grads: (opt, opt(model, grads)), donate_argnums=(0, 1))


MODES = ("eager", "eager, donate=True", "jit+donate")


def _time_modes(model: Any, grads: Any, n: int, reps: int = 9) -> dict[str, tuple[float, float]]:
    """Median wall and thread-CPU time per step of each mode, measured round-robin."""
    state = {}
    for mode in MODES:
        opt = flr.optim.Adam(1e-3)
        m = jax.tree.map(jnp.copy, model)
        opt.init(m)
        step = _steps(mode)
        for _ in range(3):
            opt, m = step(opt, m, grads)
        jax.block_until_ready(m)
        state[mode] = [step, opt, m, [], []]
    for _ in range(reps):
        for mode in MODES:
            step, opt, m, wall, cpu = state[mode]
            t0, c0 = time.perf_counter(), time.thread_time()
            for _ in range(n):
                opt, m = step(opt, m, grads)
            jax.block_until_ready((m, opt))
            wall.append((time.perf_counter() - t0) / n)
            cpu.append((time.thread_time() - c0) / n)
            state[mode][1:3] = [opt, m]
    return {k: (float(np.median(v[3])), float(np.median(v[4]))) for k, v in state.items()}


def eager() -> None:
    cases = {
        "4096x4096": ({"w": jnp.ones((4096, 4096))}, {"w": jnp.full((4096, 4096), 1e-3)}, 10),
        "100 tiny leaves": (
            {f"p{i}": jnp.ones((3,)) for i in range(100)},
            {f"p{i}": jnp.ones((3,)) for i in range(100)},
            200,
        ),
    }
    for name, (model, grads, n) in cases.items():
        times = _time_modes(model, grads, n)
        base = times["jit+donate"][0]
        for mode, (wall, cpu) in times.items():
            print(
                f"Adam {name:16s} {mode:19s}: {wall * 1e3:8.3f} ms/step "
                f"({wall / base:.2f}x jit+donate), thread CPU {cpu * 1e3:.3f} ms"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps of the memory check")
    parser.add_argument("--only-eager", action="store_true", help="only the eager step")
    args = parser.parse_args()
    if not args.only_eager:
        closures()
        memory(args.steps)
    eager()
