"""Timing: medians over many repetitions after warm-up, the peers of a case interleaved.

A *step* is a zero-argument callable that runs one optimizer step on state it
carries itself and returns something to block on (``jax.block_until_ready``).
A *factory* builds a step (arrays, optimizer state, the jitted function). Each
repetition times ``number`` consecutive steps, then blocks once: the figure is the
steady-state time per step, with JAX's asynchronous dispatch overlapping as it
does in a training loop. The peers of one case are measured round-robin in the
same process, so that a burst of load on the machine hits all of them alike.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax

__all__ = [
    "FULL",
    "QUICK",
    "Missing",
    "Settings",
    "Skipped",
    "failed_row",
    "first_call",
    "measure",
    "row",
]

Step = Callable[[], Any]
Factory = Callable[[], Step]


class Missing(Exception):
    """The peer's library is not installed: reported as a "missing" row."""


class Skipped(Exception):
    """The peer does not apply here (e.g. another device): reported as "skipped"."""


@dataclasses.dataclass(frozen=True)
class Settings:
    quick: bool
    reps: int  # timed repetitions; the figure is their median ...
    min_reps: int  # ... fewer (not below this) where a case would exceed case_s
    case_s: float  # wall-time budget of the timed repetitions of one case
    warmup: int  # untimed steps first (compilation, allocator, caches); at least 2 ...
    warmup_s: float  # ... and more only while they took less than this
    min_rep_s: float  # a repetition runs enough steps to last at least this long
    max_number: int  # ... but at most this many
    first_call_reps: int  # fresh compilations timed per peer (trace + compile)
    max_leaves: int | None = None  # compiled peers of sweep_leaves stop here (None: all)


QUICK = Settings(
    quick=True,
    reps=5,
    min_reps=3,
    case_s=2.0,
    warmup=2,
    warmup_s=0.1,
    min_rep_s=0.002,
    max_number=20,
    first_call_reps=1,
)
FULL = Settings(
    quick=False,
    reps=31,
    min_reps=9,
    case_s=8.0,
    warmup=10,
    warmup_s=0.5,
    min_rep_s=0.01,
    max_number=200,
    first_call_reps=3,
)


def row(peer: str, status: str = "ok", **fields: Any) -> dict[str, Any]:
    return {"peer": peer, "status": status, **fields}


def _failed(peer: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Missing):
        return row(peer, "missing", note=str(exc))
    if isinstance(exc, Skipped):
        return row(peer, "skipped", note=str(exc))
    return row(peer, "error", note=f"{type(exc).__name__}: {exc}"[:300])


def _timed(step: Step, number: int) -> tuple[float, float]:
    """Wall time per step, and CPU time per step of the calling thread until the last
    step returned (the host-side cost: Python, flattening, dispatch; on a busy machine
    it is far less noisy than wall time, and it is not what the figures report)."""
    out = None
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(number):
        out = step()
    c1 = time.thread_time()
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / number, (c1 - c0) / number


def _warm(step: Step, settings: Settings, warmup: int | None = None) -> tuple[int, float]:
    """Run the warm-up steps: at least two (the first compiles, the second may
    compile again or settle the allocator), more while they are cheap. Return how
    many steps one repetition should time, and the estimated time of one."""
    most = settings.warmup if warmup is None else warmup
    times: list[float] = []
    t0 = time.perf_counter()
    while len(times) < max(2, most):
        times.append(_timed(step, 1)[0])
        if len(times) >= 2 and time.perf_counter() - t0 > settings.warmup_s:
            break
    one = max(min(times[1:]), 1e-9)
    number = max(1, min(settings.max_number, math.ceil(settings.min_rep_s / one)))
    return number, number * one


def _summary(times: list[float], number: int, cpu: list[float] | None = None) -> dict[str, Any]:
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    more = {"host_cpu": statistics.median(cpu)} if cpu else {}
    return {
        "value": statistics.median(times),
        "unit": "s",
        "q1": q[0],
        "q3": q[2],
        "min": min(times),
        "reps": len(times),
        "number": number,
        **more,
    }


def measure(
    factories: dict[str, Factory],
    settings: Settings,
    *,
    interleave: bool = True,
    reps: int | None = None,
    warmup: int | None = None,
    budget_s: float | None = None,
) -> list[dict[str, Any]]:
    """Time per step of every peer: median over ``reps`` repetitions.

    ``interleave=False`` builds, measures and frees the peers one at a time (for
    sizes where all of them at once would not fit in memory).
    """
    if not interleave:
        out = []
        for name, factory in factories.items():
            share = settings.case_s / len(factories)
            out += measure({name: factory}, settings, reps=reps, warmup=warmup, budget_s=share)
            gc.collect()
        return out
    steps: dict[str, tuple[Step, int]] = {}
    failed: dict[str, dict[str, Any]] = {}
    rep_s = 0.0  # estimated time of one round over all peers
    for name, factory in factories.items():
        try:
            step = factory()
            number, seconds = _warm(step, settings, warmup)
            steps[name] = (step, number)
            rep_s += seconds
        except Exception as exc:
            failed[name] = _failed(name, exc)
    if reps is None:
        # Slow steps (big models, a loaded machine): fewer repetitions, not fewer than
        # min_reps, so that a full run stays within its time budget.
        fit = int((budget_s or settings.case_s) / max(rep_s, 1e-9))
        reps = max(settings.min_reps, min(settings.reps, fit))
    times: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(reps):
        # Rotate the order so that no peer always runs right after the same one.
        for name in names[r % max(1, len(names)) :] + names[: r % max(1, len(names))]:
            if name in failed:
                continue
            step, number = steps[name]
            try:
                wall, host = _timed(step, number)
                times[name].append(wall)
                cpu[name].append(host)
            except Exception as exc:
                failed[name] = _failed(name, exc)
    numbers = {name: number for name, (_, number) in steps.items()}
    steps.clear()
    gc.collect()
    return [
        failed[name]
        if name in failed
        else row(name, **_summary(times[name], numbers[name], cpu[name]))
        for name in factories
    ]


def first_call(
    setups: Mapping[str, Callable[[], Callable[[], Any]]], reps: int
) -> list[dict[str, Any]]:
    """Time of the first call of a freshly built function (trace + compile + one run).

    ``setups[peer]()`` builds everything (arrays, optimizer state, a *fresh*
    jitted function) untimed and returns the call to time. JAX's caches are
    cleared before each timed call, so nothing compiled earlier is reused.
    """
    out = []
    for name, setup in setups.items():
        times = []
        try:
            for _ in range(reps):
                call = setup()
                jax.clear_caches()
                gc.collect()
                t0 = time.perf_counter()
                jax.block_until_ready(call())
                times.append(time.perf_counter() - t0)
                del call
        except Exception as exc:
            out.append(_failed(name, exc))
            continue
        out.append(row(name, **_summary(times, 1)))
    jax.clear_caches()
    return out


def failed_row(peer: str, exc: BaseException) -> dict[str, Any]:
    """The row of a peer that could not run (missing library, error)."""
    return _failed(peer, exc)
