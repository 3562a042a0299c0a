"""flarejax's benchmark suite: ``python benchmarks/run.py [--quick] [--only FIG] [--out DIR]``.

Every time is a median over many timed repetitions after warm-up, all peers of a
case measured in this one process, and reported as a ratio to a hand-written
``jax.jit`` + optax Adam step. Writes ``results.json`` and PNG plots into
``--out`` (default ``docs/performance``, the folder the Performance page shows)
and prints a table and the targets.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import jax  # noqa: E402
from _figures import FIGURES, run_figure  # noqa: E402
from _plots import plot_all  # noqa: E402
from _targets import check_targets  # noqa: E402
from _timing import FULL, QUICK, Settings  # noqa: E402

PACKAGES = ("flarejax", "jax", "jaxlib", "optax", "flax", "equinox", "torch", "numpy")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        return round(kib / 2**20, 1)
    except (OSError, StopIteration):
        return None


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _source() -> dict[str, Any]:
    """Which flarejax was measured: commit (read only) and a hash of its sources."""
    root = HERE.parent
    digest = hashlib.sha256()
    for path in sorted((root / "flarejax").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    out: dict[str, Any] = {"flarejax_sources_sha256": digest.hexdigest()[:16]}
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        out["git_commit"] = commit.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def machine_info(settings: Settings) -> dict[str, Any]:
    devices = jax.devices()
    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "backend": jax.default_backend(),
        "devices": [f"{d.platform}:{d.device_kind}" for d in devices],
        "cpu": _cpu(),
        "cpu_count": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in PACKAGES},
        "source": _source(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "load_average_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "settings": dataclasses.asdict(settings),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


# -- printing ---------------------------------------------------------------------------


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
            if value >= scale:
                return f"{value / scale:8.2f} {name}"
        return f"{value / 1e-9:8.1f} ns"
    if unit == "B":
        return f"{value / 2**20:8.2f} MiB"
    if unit == "GB/s":
        return f"{value:8.2f} GB/s"
    return f"{value:8} {unit}"


def print_figure(name: str, fig: dict[str, Any]) -> None:
    print(f"\n== {name}: {fig['title']}  [{fig['wall_s']:.0f} s]")
    for c in fig["cases"]:
        extra = ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}"
            for k, v in c.items()
            if k in ("leaves", "params", "steps")
        )
        base = f"ratio to {c['baseline']}" if c["baseline"] else "no baseline"
        print(f"  -- {c['case']}" + (f" ({extra})" if extra else "") + f"; {base}")
        for r in c["rows"]:
            if r["status"] != "ok":
                print(f"     {r['peer']:<34} {r['status']:>12}   {r.get('note', '')}")
                continue
            ratio = f"{r['ratio']:7.2f}x" if "ratio" in r else " " * 8
            if "ratio" in r and r["unit"] != "s":
                ratio += f" ({'time' if 'seconds' in r else r['unit']})"
            spread = ""
            if "q1" in r and r["unit"] == "s":
                spread = f"  IQR {_fmt(r['q1'], 's').strip()}..{_fmt(r['q3'], 's').strip()}"
            if "host_cpu_ratio" in r:
                spread += f"  host-CPU {r['host_cpu_ratio']:.2f}x"
            more = ""
            if "fraction_of_copy" in r:
                more = f"  {100 * r['fraction_of_copy']:.0f}% of copy bandwidth"
            if "alias" in r:
                more = f"  (temp {r['temp']:,}, output {r['output']:,}, alias {r['alias']:,})"
            print(f"     {r['peer']:<34} {_fmt(r['value'], r['unit'])} {ratio}{spread}{more}")


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\n== targets")
    for t in targets:
        mark = {True: "met   ", False: "MISSED", None: "  -   "}[t["met"]]
        print(f"  [{mark}] {t['target']}: {t['measured']}")


# -- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few reps, small sizes (< 2 min)")
    parser.add_argument(
        "--only",
        action="append",
        metavar="FIGURE",
        help=f"run only these figures (repeat or comma-separate): {', '.join(FIGURES)}",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE.parent / "docs" / "performance", help="output folder"
    )
    parser.add_argument(
        "--max-leaves",
        type=int,
        default=None,
        help="sweep_leaves: the compiled (JAX) peers stop at this many leaves (default: "
        "all run to 5000, which takes tens of minutes on a small CPU)",
    )
    args = parser.parse_args(argv)
    names = list(FIGURES)
    if args.only:
        names = [n.strip() for arg in args.only for n in arg.split(",") if n.strip()]
        unknown = [n for n in names if n not in FIGURES]
        if unknown:
            parser.error(f"unknown figure(s) {unknown}; choose from {list(FIGURES)}")
    settings = QUICK if args.quick else FULL
    if args.max_leaves is not None:
        settings = dataclasses.replace(settings, max_leaves=args.max_leaves)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    results: dict[str, Any] = {"meta": machine_info(settings), "figures": {}}
    meta = results["meta"]
    print(
        f"flarejax {meta['versions']['flarejax']} | backend {meta['backend']} | {meta['cpu']} "
        f"x{meta['cpu_count']} | {'quick' if settings.quick else 'full'} run | "
        f"load average {meta['load_average_start']}"
    )
    for name in names:
        print(f"\n[{time.perf_counter() - t0:6.0f} s] running {name} ...", flush=True)
        results["figures"][name] = fig = run_figure(name, settings)
        print_figure(name, fig)
    # Targets whose figures did not run (--only) are left out.
    results["targets"] = [t for t in check_targets(results) if t["met"] is not None]
    meta["total_wall_s"] = time.perf_counter() - t0
    meta["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print_targets(results["targets"])

    path = args.out / "results.json"
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    plots = plot_all(results, args.out)
    print(f"\nwrote {path} and {len(plots)} plots in {args.out} ({meta['total_wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
