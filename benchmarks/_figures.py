"""The figures: each returns its cases, every case a list of rows (one per peer).

A row's ``value`` is in ``unit``; ``ratio`` is the value over the case's baseline
(the hand-written optax ``jax.jit`` step unless the case names another).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from _models import grads_like, leaves_params, make, size, vector_params
from _peers import (
    BASELINE,
    TRAIN_PEERS,
    UPDATE_PEERS,
    flarejax_minimize_train,
    need,
    optax_train,
)
from _probes import COUNT_PEERS, HLO_PEERS, SCENARIOS, copy_steps, hlo_counts, memory_analysis
from _timing import Settings, failed_row, first_call, measure, row

__all__ = ["FIGURES"]

Figure = dict[str, Any]
ADAM_BYTES = 7 * 4  # read p, g, m, v; write p, m, v (float32)


def case(name: str, rows: list[dict[str, Any]], baseline: str | None = BASELINE, **info: Any):
    base = next((r for r in rows if r["peer"] == baseline and r["status"] == "ok"), None)
    for r in rows:
        if base is not None and r["status"] == "ok" and base["value"]:
            r["ratio"] = r["value"] / base["value"]
            if r.get("host_cpu") and base.get("host_cpu"):
                r["host_cpu_ratio"] = r["host_cpu"] / base["host_cpu"]
    return {"case": name, "baseline": baseline, "rows": rows, **info}


def _model(name: str, s: Settings) -> Any:
    if s.quick and name == "leaves":
        return leaves_params(50, (64, 64))
    if s.quick and name == "matrix":
        return {"w": jnp.ones((1024, 1024), jnp.float32) * 0.01}
    return make(name)


def _update_factories(params: Any, peers: list[str] | None = None) -> dict[str, Any]:
    grads = grads_like(params)
    names = peers if peers is not None else list(UPDATE_PEERS)
    return {n: functools.partial(UPDATE_PEERS[n], params, grads) for n in names}


# -- 1-4: time per step ----------------------------------------------------------------


def train_step(s: Settings) -> Figure:
    rows = measure(dict(TRAIN_PEERS), s)
    return {
        "title": "Steady-state jitted train step (MLP 784-512-512-10, batch 128)",
        "cases": [case("mlp", rows, **size(_model("mlp", s)))],
    }


def update(s: Settings) -> Figure:
    cases = []
    for name in ("mlp", "leaves", "matrix"):
        params = _model(name, s)
        cases.append(case(name, measure(_update_factories(params), s), **size(params)))
    return {"title": "Adam update only (params and grads given)", "cases": cases}


def eager(s: Settings) -> Figure:
    # The update figure has the eager call on the other models, next to torch.
    params = _model("mlp", s)
    rows = measure(_update_factories(params, ["optax jit", "flarejax eager", "flarejax jit"]), s)
    cases = [case("model = opt(model, grads): mlp", rows, **size(params))]
    train = {
        "optax jit": optax_train,
        "flarejax eager": flarejax_minimize_train,
    }
    rows = measure(train, s)
    cases.append(case("model, loss = opt.minimize(loss_fn, model, x, y): mlp", rows))
    return {
        "title": "flarejax eager calls vs the optax jax.jit step doing the same work",
        "cases": cases,
    }


def dispatch(s: Settings) -> Figure:
    params = make("tiny")
    rows = measure(_update_factories(params), s)
    return {
        "title": "Per-call dispatch overhead: Adam update on 100 leaves of shape (4,)",
        "cases": [case("tiny", rows, **size(params))],
    }


# -- 5-6: compilation ------------------------------------------------------------------


def compile_time(s: Settings) -> Figure:
    """First call of a fresh step after the state is built; jax caches cleared."""
    peers = ["optax jit", "nnx.jit", "eqx.filter_jit", "flarejax eager", "flarejax jit"]
    counts = (20, 100) if s.quick else (500, 2000)
    cases = []
    for n in counts:
        params = leaves_params(n, (64, 64))
        grads = grads_like(params)
        # One fresh compilation of 2000 leaves takes 10-60 s on 2 cores: time it once,
        # and only for the peers that the targets compare.
        big = n > 500
        reps = 1 if big else s.first_call_reps
        run = [p for p in peers if not big or p in ("optax jit", "flarejax eager", "flarejax jit")]
        setups = {p: functools.partial(UPDATE_PEERS[p], params, grads) for p in run}
        rows = first_call(setups, reps) + [
            row(p, "skipped", note="measured at 500 leaves only (time budget)")
            for p in peers
            if p not in run
        ]
        cases.append(case(f"leaves {n}: first step", rows, n_leaves=n))
        cases.append(
            case(
                f"leaves {n}: state init",
                first_call(_init_setups(params), reps),
                baseline="optax tx.init",
            )
        )
    return {
        "title": "First call: trace + compile + one run of a fresh jitted Adam update "
        "((64, 64) leaves), after the optimizer state is built",
        "cases": cases,
    }


def _init_setups(params: Any) -> dict[str, Callable[[], Callable[[], Any]]]:
    def optax_init() -> Callable[[], Any]:
        optax = need("optax")
        return lambda: optax.adam(1e-3).init(params)

    def flarejax_init() -> Callable[[], Any]:
        flr = need("flarejax")
        opt = flr.optim.Adam(1e-3)

        def call() -> Any:
            opt.init(params)
            return opt

        return call

    def nnx_init() -> Callable[[], Any]:
        nnx, optax = need("flax.nnx"), need("optax")
        from _models import nnx_module

        module = nnx_module(params)
        return lambda: nnx.state(nnx.Optimizer(module, optax.adam(1e-3), wrt=nnx.Param))

    return {
        "optax tx.init": optax_init,
        "nnx.Optimizer(...)": nnx_init,
        "flarejax opt.init": flarejax_init,
    }


def compile_count(s: Settings) -> Figure:
    steps = 10 if s.quick else 100
    quick_peers = ("optax jit", "flarejax jit", "flarejax eager opt(model, grads)")
    cases = []
    for scenario, (init, lr_changes) in SCENARIOS.items():
        rows = []
        for peer, count in COUNT_PEERS.items():
            if s.quick and peer not in quick_peers:
                rows.append(row(peer, "skipped", note="not in --quick runs"))
                continue
            try:
                rows.append(row(peer, value=count(init, lr_changes, steps), unit="compilations"))
            except Exception as exc:
                rows.append(failed_row(peer, exc))
        cases.append(case(scenario, rows, baseline=None, steps=steps))
    return {
        "title": f"Compilations over {steps} MLP steps (optax-based peers: state from "
        "tx.init, so cold = after init; lr changed via inject_hyperparams)",
        "cases": cases,
    }


# -- 7-8: memory ------------------------------------------------------------------------


def memory(s: Settings) -> Figure:
    cases = []
    for task in ("mlp train", "matrix update"):
        for donate in (False, True):
            rows = []
            for peer in ("optax jit", "flarejax jit"):
                try:
                    m: dict[str, Any] = dict(memory_analysis(peer, task, donate))
                    rows.append(row(peer, value=m["temp+output"], unit="B", **m))
                except Exception as exc:
                    rows.append(failed_row(peer, exc))
            label = f"{task}, {'donated' if donate else 'no donation'}"
            cases.append(case(label, rows))
    return {
        "title": "Compiled memory of the jitted step (memory_analysis: temp + output bytes)",
        "cases": cases,
    }


def hlo_ops(s: Settings) -> Figure:
    """HLO operations and fusions (loops) per leaf of the jitted Adam update."""
    small, large = (20, 40) if s.quick else (100, 200)
    rows = []
    for peer in HLO_PEERS:
        try:
            counts = hlo_counts(peer, small, large)
            rows.append(row(peer, value=counts["stablehlo_ops"], unit="ops/leaf", **counts))
        except Exception as exc:
            rows.append(failed_row(peer, exc))
    return {
        "title": "HLO per leaf of the jitted Adam update ((16, 16) leaves): StableHLO "
        "operations given to XLA, fusions (loops) and instructions after compilation",
        "cases": [case("per leaf", rows, baseline="optax jit+donate", n_leaves=[small, large])],
    }


def bandwidth(s: Settings) -> Figure:
    n = 2**23 if s.quick else 2**26
    copies = copy_steps(n)
    params = _model("matrix", s)
    n_params = size(params)["params"]
    adam = _update_factories(
        params,
        [p for p in UPDATE_PEERS if p not in ("nnx.jit", "eqx.filter_jit")],
    )
    factories = {k: f for k, (f, _) in copies.items()} | adam
    rows = measure(factories, s)
    copy_rows, adam_rows = rows[: len(copies)], rows[len(copies) :]
    adam = case("matrix Adam update", adam_rows, params=n_params)  # ratios of times
    for r in copy_rows:
        if r["status"] == "ok":
            r.update(seconds=r["value"], value=copies[r["peer"]][1] / r["value"] / 1e9)
            r["unit"] = "GB/s"
    best = max((r["value"] for r in copy_rows if r["status"] == "ok"), default=None)
    adam["copy_bandwidth_GBps"] = best
    for r in adam_rows:
        if r["status"] == "ok":
            bw = ADAM_BYTES * n_params / r["value"] / 1e9
            r.update(seconds=r["value"], value=bw, unit="GB/s")
            if best:
                r["fraction_of_copy"] = bw / best
    return {
        "title": f"Memory bandwidth: copy of {n * 4 / 2**20:.0f} MiB, and the matrix Adam "
        f"update ({n_params:,} params, {ADAM_BYTES} B moved per parameter)",
        "cases": [
            case("copy", copy_rows, baseline=None, bytes=copies["numpy copyto"][1]),
            adam,
        ],
    }


# -- sweeps (plots) ------------------------------------------------------------------


SWEEP_PEERS = [
    "optax jit",
    "nnx.jit",
    "eqx.filter_jit",
    "flarejax eager",
    "flarejax jit",
    "torch foreach",
    "torch fused",
]
_COMPILED = {"optax jit", "nnx.jit", "eqx.filter_jit", "flarejax eager", "flarejax jit"}


def sweep_leaves(s: Settings) -> Figure:
    """Time per step vs number of (16, 16) leaves: the per-leaf overhead."""
    counts = (10, 50) if s.quick else (10, 30, 100, 300, 1000, 3000, 5000)
    # Every peer runs to the last count. XLA compiles an n-leaf Adam in time
    # superlinear in n (about 10-30 s at 1000 leaves and minutes at 5000 on 2 cores,
    # per peer): the full figure takes tens of minutes there. --max-leaves bounds it.
    max_compiled = counts[-1] if s.max_leaves is None else s.max_leaves
    cases = []
    for n in counts:
        params = leaves_params(n, (16, 16))
        run = [p for p in SWEEP_PEERS if n <= max_compiled or p not in _COMPILED]
        rows = measure(_update_factories(params, run), s)
        skipped = [
            row(p, "skipped", note=f"compiled peers measured up to {max_compiled} leaves")
            for p in SWEEP_PEERS
            if p not in run
        ]
        base = BASELINE if BASELINE in run else None
        cases.append(case(f"{n} leaves", rows + skipped, baseline=base, x=n, **size(params)))
    return {"title": "Adam update time vs number of (16, 16) leaves", "cases": cases}


def sweep_params(s: Settings) -> Figure:
    """Time per step vs parameter count, one leaf: bandwidth-bound at large sizes."""
    sizes = (10**4, 10**5, 10**6) if s.quick else (10**4, 10**5, 10**6, 10**7, 10**8)
    peers = list(UPDATE_PEERS)
    cases = []
    for n in sizes:
        params = vector_params(n)
        big = n >= 10**7
        # Big sizes: one peer alive at a time (9 peers x 4 arrays x 400 MB would not fit).
        reps = 5 if n >= 10**8 else None
        factories = _update_factories(params, peers)
        rows = measure(factories, s, interleave=not big, reps=reps, warmup=2 if big else None)
        cases.append(case(f"{n:.0e} params", rows, x=n, **size(params)))
        del params
    return {"title": "Adam update time vs parameter count (one leaf)", "cases": cases}


FIGURES: dict[str, Callable[[Settings], Figure]] = {
    "train_step": train_step,
    "update": update,
    "eager": eager,
    "dispatch": dispatch,
    "compile_time": compile_time,
    "compile_count": compile_count,
    "memory": memory,
    "hlo_ops": hlo_ops,
    "bandwidth": bandwidth,
    "sweep_leaves": sweep_leaves,
    "sweep_params": sweep_params,
}


def run_figure(name: str, s: Settings) -> Figure:
    t0, c0 = time.perf_counter(), time.process_time()
    fig = FIGURES[name](s)
    jax.clear_caches()
    fig["wall_s"] = time.perf_counter() - t0
    fig["cpu_s"] = time.process_time() - c0
    return fig
