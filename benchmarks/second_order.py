"""Second-order optimizers against Adam and AdamW, each tuned over one learning-rate grid.

Two problems: an ill-conditioned least-squares fit of a matrix (the Hessian's
condition number is about 1e4) and the MLP classifier on scikit-learn's digits.
Every optimizer runs every learning rate of ``GRID`` for ``--steps`` steps (one
``lax.scan`` per run); the best final training loss is kept. Writes
``second_order.json`` and ``second_order.png`` to ``--out`` and prints the table
of docs/guides/second_order.rst.

    python benchmarks/second_order.py               # full run (a few minutes on 2 cores)
    python benchmarks/second_order.py --steps 20    # quickly
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr

O = flr.optim
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)

# name -> learning rate -> optimizer; classes this checkout lacks are left out.
CANDIDATES: dict[str, Callable[[float], Any]] = {
    "Adam": lambda lr: O.Adam(lr),
    "AdamW": lambda lr: O.AdamW(lr, weight_decay=1e-4),
    "Shampoo": lambda lr: O.Shampoo(lr),
    "SOAP": lambda lr: O.SOAP(lr),
    "PSGDKron": lambda lr: O.PSGDKron(lr),
    "MARS": lambda lr: O.MARS(lr),
    "Cautious(AdamW)": lambda lr: O.Cautious(O.AdamW(lr, weight_decay=1e-4)),
}


def available() -> dict[str, Callable[[float], Any]]:
    found = {}
    for name, make in CANDIDATES.items():
        try:
            make(1e-3)
        except AttributeError:
            continue
        found[name] = make
    return found


def least_squares(key: jax.Array) -> tuple[Any, Callable[..., jax.Array], tuple[Any, ...]]:
    """Fit ``W`` (32 x 16) to ``Y = X W*``, ``X``'s columns scaled from 1 to 100."""
    k1, k2 = jax.random.split(key)
    x = jax.random.normal(k1, (512, 32)) * jnp.logspace(0, 2, 32)
    w_star = jax.random.normal(k2, (32, 16))
    y = x @ w_star
    model = {"w": jnp.zeros((32, 16))}

    def loss(m: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.mean((x @ m["w"] - y) ** 2) / jnp.mean(y**2)

    return model, loss, (x, y)


def digits(key: jax.Array) -> tuple[Any, Callable[..., jax.Array], tuple[Any, ...]]:
    """A 64-64-10 GELU MLP on the digits training split (full batch)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = jnp.asarray(data.data[:1400] / 16.0, jnp.float32)
    y = jnp.asarray(data.target[:1400])
    k1, k2 = jax.random.split(key)
    model = [
        {"kernel": jax.random.normal(k1, (64, 64)) * jnp.sqrt(2 / 64), "bias": jnp.zeros(64)},
        {"kernel": jax.random.normal(k2, (64, 10)) * jnp.sqrt(2 / 64), "bias": jnp.zeros(10)},
    ]

    def loss(m: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        h = jax.nn.gelu(x @ m[0]["kernel"] + m[0]["bias"])
        logp = jax.nn.log_softmax(h @ m[1]["kernel"] + m[1]["bias"])
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    return model, loss, (x, y)


PROBLEMS = {"least squares": least_squares, "digits": digits}


def run(make: Callable[[float], Any], lr: float, problem: Any, steps: int) -> np.ndarray:
    model, loss, data = problem
    opt = make(lr)
    opt.init(model)

    @jax.jit
    def train(opt: Any, model: Any) -> jax.Array:
        def step(carry: Any, _: Any) -> Any:
            opt, model = carry
            value, grads = jax.value_and_grad(loss)(model, *data)
            return (opt, opt(model, grads)), value

        return jax.lax.scan(step, (opt, model), length=steps)[1]

    return np.asarray(train(opt, model))


def step_time(make: Callable[[float], Any], lr: float, problem: Any, repeat: int = 50) -> float:
    """Milliseconds per jitted training step (median of ``repeat``, after compiling)."""
    model, loss, data = problem
    opt = make(lr)
    opt.init(model)

    @jax.jit
    def step(opt: Any, model: Any) -> Any:
        grads = jax.grad(loss)(model, *data)
        return opt, opt(model, grads)

    opt, model = jax.block_until_ready(step(opt, model))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        opt, model = jax.block_until_ready(step(opt, model))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, default=Path("docs/performance"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    optimizers = available()
    results: dict[str, Any] = {"steps": args.steps, "grid": GRID, "problems": {}}
    for pname, build in PROBLEMS.items():
        problem = build(jax.random.key(0))
        rows = {}
        for name, make in optimizers.items():
            curves = {}
            for lr in GRID:
                curve = run(make, lr, problem, args.steps)
                curves[lr] = curve if np.all(np.isfinite(curve)) else None
            finite = {lr: c for lr, c in curves.items() if c is not None}
            best = min(finite, key=lambda lr: finite[lr][-1])
            rows[name] = {
                "best_lr": best,
                "final_loss": float(finite[best][-1]),
                "curve": finite[best].tolist(),
                "ms_per_step": step_time(make, best, problem),
            }
            print(f"{pname:14s} {name:16s} lr={best:g} loss={rows[name]['final_loss']:.3e}")
        results["problems"][pname] = rows
    (args.out / "second_order.json").write_text(json.dumps(results, indent=1))
    plot(results, args.out / "second_order.png")
    print_table(results)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = results["problems"]
    fig, axes = plt.subplots(1, len(problems), figsize=(5 * len(problems), 3.6))
    for ax, (pname, rows) in zip(np.atleast_1d(axes), problems.items()):
        for name, row in rows.items():
            ax.semilogy(row["curve"], label=f"{name} (lr {row['best_lr']:g})")
        ax.set_title(pname)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def print_table(results: dict[str, Any]) -> None:
    problems = list(results["problems"])
    names = list(results["problems"][problems[0]])
    print("   * - Optimizer")
    for p in problems:
        print(f"     - {p}: best lr / final loss / ms per step")
    for name in names:
        print(f"   * - ``{name}``")
        for p in problems:
            row = results["problems"][p][name]
            print(f"     - {row['best_lr']:g} / {row['final_loss']:.2e} / {row['ms_per_step']:.2f}")


if __name__ == "__main__":
    main()
