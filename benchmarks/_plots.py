"""PNG plots: the two sweeps (one line per peer) and the ratios of the timed figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

__all__ = ["plot_all"]

_SWEEPS = {
    "sweep_leaves": ("number of (16, 16) leaves", "time_vs_leaves.png"),
    "sweep_params": ("number of parameters (one leaf)", "time_vs_params.png"),
}
_RATIOS = ("train_step", "update", "eager", "dispatch", "compile_time")


def _sweep(fig: dict[str, Any], xlabel: str, path: Path, meta: dict[str, Any]) -> None:
    lines: dict[str, tuple[list[float], list[float]]] = {}
    for c in fig["cases"]:
        for r in c["rows"]:
            if r["status"] == "ok":
                xs, ys = lines.setdefault(r["peer"], ([], []))
                xs.append(c["x"])
                ys.append(r["value"])
    f, ax = plt.subplots(figsize=(7, 4.5))
    for peer, (xs, ys) in lines.items():
        style = "-" if "flarejax" in peer else "--"
        ax.plot(xs, ys, style, marker="o", ms=3, label=peer)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="time per Adam update [s]")
    ax.set_title(f"{fig['title']}\n{_machine(meta)}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    f.tight_layout()
    f.savefig(path, dpi=120)
    plt.close(f)


def _ratios(name: str, fig: dict[str, Any], path: Path, meta: dict[str, Any]) -> None:
    cases = [c for c in fig["cases"] if any("ratio" in r for r in c["rows"])]
    if not cases:
        return
    height = sum(len(c["rows"]) for c in cases) * 0.28 + 1.2 * len(cases)
    f, axes = plt.subplots(len(cases), 1, figsize=(7, height), squeeze=False)
    for ax, c in zip(axes[:, 0], cases):
        rows = [r for r in c["rows"] if "ratio" in r]
        peers = [r["peer"] for r in rows]
        colors = ["tab:orange" if "flarejax" in p else "tab:blue" for p in peers]
        ax.barh(peers, [r["ratio"] for r in rows], color=colors)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.invert_yaxis()
        ax.set_title(f"{c['case']}  (ratio to {c['baseline']}, lower is faster)", fontsize=8)
        ax.tick_params(labelsize=7)
    f.suptitle(f"{fig['title']}\n{_machine(meta)}", fontsize=8)
    f.tight_layout()
    f.savefig(path, dpi=110)
    plt.close(f)


def _machine(meta: dict[str, Any]) -> str:
    return f"{meta.get('backend', '?')} | {meta.get('cpu', '?')} | {meta.get('date', '')[:10]}"


def plot_all(results: dict[str, Any], out: Path) -> list[Path]:
    written = []
    meta = results.get("meta", {})
    for name, fig in results["figures"].items():
        if name in _SWEEPS:
            xlabel, file = _SWEEPS[name]
            _sweep(fig, xlabel, out / file, meta)
            written.append(out / file)
        elif name in _RATIOS:
            path = out / f"ratios_{name}.png"
            _ratios(name, fig, path, meta)
            if path.exists():
                written.append(path)
    return written
