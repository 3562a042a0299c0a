"""flarejax's performance targets, checked against a run's results."""

from __future__ import annotations

from typing import Any

__all__ = ["check_targets"]

Results = dict[str, Any]


def _case(results: Results, fig: str, prefix: str) -> dict[str, Any] | None:
    for c in results["figures"].get(fig, {}).get("cases", []):
        if c["case"].startswith(prefix):
            return c
    return None


def _row(results: Results, fig: str, prefix: str, peer: str) -> dict[str, Any] | None:
    c = _case(results, fig, prefix)
    r = next((r for r in c["rows"] if r["peer"] == peer), None) if c else None
    return r if r is not None and r["status"] == "ok" else None


def _ratio(results: Results, fig: str, prefix: str, peer: str, base: str) -> float | None:
    a, b = _row(results, fig, prefix, peer), _row(results, fig, prefix, base)
    return a["value"] / b["value"] if a and b else None


def _noise(results: Results, fig: str, prefix: str, peer: str, base: str) -> str:
    a, b = _row(results, fig, prefix, peer), _row(results, fig, prefix, base)
    if not (a and b and "q1" in a and "q1" in b):
        return ""
    overlap = a["q1"] <= b["q3"] and b["q1"] <= a["q3"]
    return " (interquartile ranges overlap)" if overlap else ""


def _at_most(name: str, value: float | None, limit: float, detail: str = "") -> dict[str, Any]:
    if value is None:
        return {"target": name, "measured": "not measured", "met": None}
    return {"target": name, "measured": f"{value:.2f}x{detail}", "met": value <= limit}


def check_targets(results: Results) -> list[dict[str, Any]]:
    out = []
    r = results
    for peer, base in (("flarejax jit", "optax jit"), ("flarejax jit+donate", "optax jit+donate")):
        out.append(
            _at_most(
                f"train step (mlp): {peer} <= 1.0x {base}",
                _ratio(r, "train_step", "mlp", peer, base),
                1.0,
                _noise(r, "train_step", "mlp", peer, base),
            )
        )
    where = {"mlp": ("eager", "model = opt(model, grads): mlp")}
    where |= {m: ("update", m) for m in ("leaves", "matrix")}
    for model, (fig, prefix) in where.items():
        out.append(
            _at_most(
                f"eager opt(model, grads) ({model}) <= 1.3x optax jit",
                _ratio(r, fig, prefix, "flarejax eager", "optax jit"),
                1.3,
            )
        )
    out.append(
        _at_most(
            "eager opt.minimize (mlp) <= 1.3x optax jit train step (no stated target; info)",
            _ratio(r, "eager", "model, loss", "flarejax eager", "optax jit"),
            1.3,
        )
    )
    for peer in ("flarejax eager", "flarejax jit"):
        out.append(
            _at_most(
                f"dispatch (tiny): {peer} <= 1.3x optax jit",
                _ratio(r, "dispatch", "tiny", peer, "optax jit"),
                1.3,
            )
        )
        speedup = _ratio(r, "dispatch", "tiny", "nnx.jit", peer)
        out.append(
            {
                "target": f"dispatch (tiny): {peer} >= 3x faster than nnx.jit",
                "measured": "not measured" if speedup is None else f"{speedup:.2f}x faster",
                "met": None if speedup is None else speedup >= 3.0,
            }
        )
    firsts = [
        c for c in r["figures"].get("compile_time", {}).get("cases", []) if "first" in c["case"]
    ]
    big = max(firsts, key=lambda c: c["n_leaves"], default=None)
    if big is not None:
        prefix = big["case"]
        for peer in ("flarejax jit", "flarejax eager"):
            out.append(
                _at_most(
                    f"trace+compile ({prefix.split(':')[0]}): {peer} <= 1.5x optax jit",
                    _ratio(r, "compile_time", prefix, peer, "optax jit"),
                    1.5,
                )
            )
    compile_cases = r["figures"].get("compile_time", {}).get("cases", [])
    for c in [c for c in compile_cases if "init" in c["case"]]:
        out.append(
            _at_most(
                f"state init ({c['case'].split(':')[0]}): flarejax opt.init <= 1.5x optax tx.init",
                _ratio(r, "compile_time", c["case"], "flarejax opt.init", "optax tx.init"),
                1.5,
            )
        )
    ops = _row(r, "hlo_ops", "per leaf", "flarejax jit+donate")
    base = _row(r, "hlo_ops", "per leaf", "optax jit+donate")
    if ops and base:
        out.append(
            {
                "target": "HLO per leaf: flarejax StableHLO ops < optax's (fusions: info)",
                "measured": f"{ops['stablehlo_ops']:.0f} vs {base['stablehlo_ops']:.0f} ops, "
                f"{ops['fusions']:.2f} vs {base['fusions']:.2f} fusions",
                "met": ops["stablehlo_ops"] < base["stablehlo_ops"],
            }
        )
    out += _compile_targets(r)
    out += _optax_parity_targets(r)
    for task in ("mlp train", "matrix update"):
        a = _row(r, "memory", f"{task}, donated", "flarejax jit")
        b = _row(r, "memory", f"{task}, donated", "optax jit")
        if a and b:
            out.append(
                {
                    "target": f"compiled memory, donated ({task}): flarejax <= optax",
                    "measured": f"temp+output {a['value']:,} B vs {b['value']:,} B "
                    f"({a['value'] - b['value']:+,} B); new "
                    f"(minus aliased) {a['new (temp+output-alias)']:,} vs "
                    f"{b['new (temp+output-alias)']:,} B",
                    "met": a["value"] <= b["value"],
                }
            )
    for model in ("matrix", "leaves"):
        for peer in ("flarejax jit+donate", "flarejax jit", "flarejax eager"):
            out.append(
                _at_most(
                    f"Adam update ({model}): {peer} <= 1.25x torch fused",
                    _ratio(r, "update", model, peer, "torch fused"),
                    1.25,
                )
            )
    for peer in ("flarejax jit+donate", "flarejax jit", "flarejax eager"):
        row = _row(r, "bandwidth", "matrix Adam update", peer)
        frac = row.get("fraction_of_copy") if row else None
        out.append(
            {
                "target": f"matrix Adam update: {peer} >= 70% of copy bandwidth",
                "measured": "not measured" if frac is None else f"{100 * frac:.0f}%",
                "met": None if frac is None else frac >= 0.7,
            }
        )
    return out


def _optax_parity_targets(r: Results) -> list[dict[str, Any]]:
    """Never slower than optax: first call and steady step at or below 0.9x its own,
    the eager call close to the project's own jitted step."""
    out = []
    for c in r["figures"].get("compile_time", {}).get("cases", []):
        if "first" in c["case"]:
            out.append(
                _at_most(
                    f"first call ({c['case'].split(':')[0]}): flarejax jit <= 0.9x optax jit",
                    _ratio(r, "compile_time", c["case"], "flarejax jit", "optax jit"),
                    0.9,
                )
            )
    for model in ("mlp", "leaves", "matrix"):
        out.append(
            _at_most(
                f"steady update ({model}): flarejax jit+donate <= 0.9x optax jit+donate",
                _ratio(r, "update", model, "flarejax jit+donate", "optax jit+donate"),
                0.9,
                _noise(r, "update", model, "flarejax jit+donate", "optax jit+donate"),
            )
        )
    out.append(
        _at_most(
            "dispatch (tiny): flarejax eager <= 1.15x flarejax jit",
            _ratio(r, "dispatch", "tiny", "flarejax eager", "flarejax jit"),
            1.15,
        )
    )
    out.append(
        _at_most(
            "update (matrix): flarejax eager+donate <= 1.05x flarejax jit+donate",
            _ratio(r, "update", "matrix", "flarejax eager+donate", "flarejax jit+donate"),
            1.05,
            _noise(r, "update", "matrix", "flarejax eager+donate", "flarejax jit+donate"),
        )
    )
    return out


def _compile_targets(r: Results) -> list[dict[str, Any]]:
    out = []
    for peer in ("flarejax jit", "flarejax eager opt(model, grads)", "flarejax eager opt.minimize"):
        cold = _row(r, "compile_count", "cold", peer)
        init = _row(r, "compile_count", "after init", peer)
        lr = _row(r, "compile_count", "lr every step", peer)
        if not (cold and init and lr):
            out.append({"target": f"compilations: {peer}", "measured": "not measured", "met": None})
            continue
        c, i, lr_n = cold["value"], init["value"], lr["value"]
        out.append(
            {
                "target": f"compilations: {peer}: 1 after init, <= 2 cold, +0 with lr changing",
                "measured": f"after init {i}, cold {c}, lr changing {lr_n}",
                "met": i == 1 and c <= 2 and lr_n == i,
            }
        )
    return out
