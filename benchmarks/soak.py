"""A soak run: ``python benchmarks/soak.py [--steps N]`` (``nox -s soak`` runs it).

Trains a small MLP with ``Adam`` for ``--steps`` eager steps (``opt.minimize``)
and then ``--steps`` steps of a ``jax.jit``-ed training step, after ``opt.init``,
and checks, for each phase:

* **compiles**: the step compiles exactly once (XLA compilations are counted
  with a ``jax.monitoring`` listener; under ``jax.jit``, traces of the step body
  are counted too);
* **memory**: resident memory (``VmRSS`` of ``/proc/self/status``) grows by at
  most ``--rss-bound-mib`` (default 32 MiB) between the end of the warm-up (the
  first 5% of the steps) and any later sample;
* **buffers**: with the garbage collector *disabled* during the loop, the
  number of live device arrays (``len(jax.live_arrays())``) is the same at every
  sample after the warm-up: old buffers are freed by reference counting alone,
  so no reference cycle keeps them alive. The collector runs after each phase
  and the number of objects it found unreachable is reported.

Exits with status 1 when a check fails. ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr

_COMPILES = [0]


def _count_compiles(event: str, duration: float, **_: Any) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count_compiles)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def problem() -> tuple[Any, Callable[..., Any], jax.Array, jax.Array]:
    r = np.random.default_rng(0)
    x = jnp.asarray(r.normal(size=(64, 16)), jnp.float32)
    y = jnp.asarray(np.sin(r.normal(size=(64, 1))), jnp.float32)
    model = {
        "hidden": {
            "kernel": jnp.asarray(r.normal(size=(16, 32)) * 0.25, jnp.float32),
            "bias": jnp.zeros(32, jnp.float32),
        },
        "out": {
            "kernel": jnp.asarray(r.normal(size=(32, 1)) * 0.17, jnp.float32),
            "bias": jnp.zeros(1, jnp.float32),
        },
    }

    def loss_fn(m: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        h = jnp.tanh(x @ m["hidden"]["kernel"] + m["hidden"]["bias"])
        return jnp.mean((h @ m["out"]["kernel"] + m["out"]["bias"] - y) ** 2)

    return model, loss_fn, x, y


def soak(phase: str, steps: int, every: int, rss_bound: float) -> dict[str, Any]:
    model, loss_fn, x, y = problem()
    opt = flr.optim.Adam(1e-3)
    opt.init(model)
    traces = [0]

    @jax.jit
    def train_step(opt: Any, model: Any, x: jax.Array, y: jax.Array) -> Any:
        traces[0] += 1
        loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
        return opt, opt(model, grads), loss

    if phase == "eager":

        def step(opt: Any, model: Any) -> Any:
            model, loss = opt.minimize(loss_fn, model, x, y)
            return opt, model, loss
    else:

        def step(opt: Any, model: Any) -> Any:
            return train_step(opt, model, x, y)

    warmup = max(1, steps // 20)
    compiles_before = _COMPILES[0]
    samples: list[tuple[int, float, int]] = []
    first_loss = None
    gc.collect()
    gc.disable()
    start = time.perf_counter()
    try:
        for i in range(1, steps + 1):
            opt, model, loss = step(opt, model)
            if first_loss is None:
                first_loss = float(loss)
            if i % every == 0 or i in (warmup, steps):
                jax.block_until_ready(model)
                samples.append((i, rss_mib(), len(jax.live_arrays())))
    finally:
        elapsed = time.perf_counter() - start
        gc.enable()
    unreachable = gc.collect()
    compiles = _COMPILES[0] - compiles_before

    after = [s for s in samples if s[0] >= warmup]
    base_rss = after[0][1]
    rss_growth = max(s[1] for s in after) - base_rss
    arrays = sorted({s[2] for s in after})
    result = {
        "phase": phase,
        "steps": steps,
        "seconds": round(elapsed, 2),
        "us_per_step": round(elapsed / steps * 1e6, 1),
        "compiles": compiles,
        "traces": traces[0] if phase == "jit" else None,
        "rss_mib_after_warmup": round(base_rss, 1),
        "rss_mib_max": round(max(s[1] for s in after), 1),
        "rss_growth_mib": round(rss_growth, 2),
        "rss_bound_mib": rss_bound,
        "live_arrays": arrays,
        "unreachable_after": unreachable,
        "loss": [first_loss, float(loss)],
        "failures": [],
    }
    if compiles != 1:
        result["failures"].append(f"{compiles} XLA compilations of the step (expected 1)")
    if phase == "jit" and traces[0] != 1:
        result["failures"].append(f"the jitted step was traced {traces[0]} times (expected 1)")
    if rss_growth > rss_bound:
        result["failures"].append(
            f"RSS grew by {rss_growth:.1f} MiB after the warm-up (bound {rss_bound} MiB)"
        )
    if len(arrays) != 1:
        result["failures"].append(
            f"live device arrays changed from sample to sample: {arrays[:10]} (gc disabled)"
        )
    if not float(loss) < first_loss:
        result["failures"].append(f"the loss did not go down: {first_loss} -> {float(loss)}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000, help="steps of each phase")
    parser.add_argument("--samples", type=int, default=100, help="samples of each phase")
    parser.add_argument("--rss-bound-mib", type=float, default=32.0)
    parser.add_argument("--phase", choices=["eager", "jit", "both"], default="both")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.steps < 20:
        parser.error("--steps must be >= 20")
    every = max(1, args.steps // args.samples)
    phases = ["eager", "jit"] if args.phase == "both" else [args.phase]
    results = [soak(p, args.steps, every, args.rss_bound_mib) for p in phases]
    for r in results:
        status = "FAIL" if r["failures"] else "ok"
        print(
            f"{r['phase']:>5}: {status}  {r['steps']} steps in {r['seconds']} s "
            f"({r['us_per_step']} us/step), {r['compiles']} compile(s)"
            + (f", {r['traces']} trace(s)" if r["traces"] is not None else "")
            + f"; RSS {r['rss_mib_after_warmup']} -> max {r['rss_mib_max']} MiB "
            f"(+{r['rss_growth_mib']}, bound {r['rss_bound_mib']}); "
            f"live arrays {r['live_arrays']}; "
            f"unreachable after gc {r['unreachable_after']}; loss {r['loss'][0]:.4g} -> "
            f"{r['loss'][1]:.4g}"
        )
        for f in r["failures"]:
            print(f"       {f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
