"""Second-order optimizers against Adam and AdamW, each tuned over one learning-rate grid.

Two problems: an ill-conditioned least-squares fit of a matrix (the Hessian's
condition number is about 1e4, in a rotated basis) and the MLP classifier on scikit-learn's digits.
Every optimizer runs every learning rate of ``GRID`` for ``--steps`` steps (one
``lax.scan`` per run); the best final training loss is kept. Writes
``second_order.json`` and ``second_order.png`` to ``--out`` and prints the table
of docs/guides/second_order.rst.

    python benchmarks/second_order.py               # full run (a few minutes on 2 cores)
    python benchmarks/second_order.py --steps 20    # quickly
    python benchmarks/second_order.py --table docs/performance/second_order.json
"""

from __future__ import annotations

import argparse
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


Problem = tuple[Any, Callable[..., jax.Array], tuple[Any, ...], Callable[[Any], float] | None]


def least_squares(key: jax.Array) -> Problem:
    """Fit ``W`` (32 x 16) to ``Y = X W*``; ``X``'s singular values run from 1 to 100.

    The ill-conditioning is in a random basis, not along the axes, so that a
    diagonal preconditioner (Adam's) cannot undo it.
    """
    k1, k2, k3 = jax.random.split(key, 3)
    q, _ = jnp.linalg.qr(jax.random.normal(k3, (32, 32)))
    x = jax.random.normal(k1, (512, 32)) @ (q * jnp.logspace(0, 2, 32)) @ q.T
    w_star = jax.random.normal(k2, (32, 16))
    y = x @ w_star
    model = {"w": jnp.zeros((32, 16))}

    def loss(m: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.mean((x @ m["w"] - y) ** 2) / jnp.mean(y**2)

    return model, loss, (x, y), None


def digits(key: jax.Array) -> Problem:
    """A 64-64-10 GELU MLP on the first 1400 digits (full batch); accuracy on the rest."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x_all = jnp.asarray(data.data / 16.0, jnp.float32)
    y_all = jnp.asarray(data.target)
    x, y = x_all[:1400], y_all[:1400]
    k1, k2 = jax.random.split(key)
    model = [
        {"kernel": jax.random.normal(k1, (64, 64)) * jnp.sqrt(2 / 64), "bias": jnp.zeros(64)},
        {"kernel": jax.random.normal(k2, (64, 10)) * jnp.sqrt(2 / 64), "bias": jnp.zeros(10)},
    ]

    def logits(m: Any, x: jax.Array) -> jax.Array:
        return jax.nn.gelu(x @ m[0]["kernel"] + m[0]["bias"]) @ m[1]["kernel"] + m[1]["bias"]

    def loss(m: Any, x: jax.Array, y: jax.Array) -> jax.Array:
        logp = jax.nn.log_softmax(logits(m, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def accuracy(m: Any) -> float:
        return float(jnp.mean(jnp.argmax(logits(m, x_all[1400:]), -1) == y_all[1400:]))

    return model, loss, (x, y), accuracy


PROBLEMS = {"least squares": least_squares, "digits": digits}


def run(make: Callable[[float], Any], lr: float, problem: Problem, steps: int) -> Any:
    """The training-loss curve, the final model and milliseconds per step (averaged)."""
    model, loss, data, _ = problem
    opt = make(lr)
    opt.init(model)

    @jax.jit
    def train(opt: Any, model: Any) -> Any:
        def step(carry: Any, _: Any) -> Any:
            opt, model = carry
            value, grads = jax.value_and_grad(loss)(model, *data)
            return (opt, opt(model, grads)), value

        (_, model), curve = jax.lax.scan(step, (opt, model), length=steps)
        return curve, model

    curve, final = jax.block_until_ready(train(opt, model))
    return np.asarray(curve), final, train, (opt, model)


def ms_per_step(train: Any, args: tuple[Any, Any], steps: int, repeat: int = 3) -> float:
    """Milliseconds per step of the whole compiled run (best of ``repeat``), every step included."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(train(*args))
        times.append(time.perf_counter() - start)
    return 1e3 * min(times) / steps


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
            runs = {}
            for lr in GRID:
                curve, final, train, state = run(make, lr, problem, args.steps)
                if np.all(np.isfinite(curve)):
                    runs[lr] = (curve, final, train, state)
            best = min(runs, key=lambda lr: runs[lr][0][-1])
            curve, final, train, train_args = runs[best]
            evaluate = problem[3]
            rows[name] = {
                "best_lr": best,
                "final_loss": float(curve[-1]),
                "curve": curve.tolist(),
                "ms_per_step": ms_per_step(train, train_args, args.steps),
                "test_accuracy": None if evaluate is None else evaluate(final),
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
            acc = "" if row["test_accuracy"] is None else f" / {100 * row['test_accuracy']:.1f}%"
            loss = f"{row['best_lr']:g} / {row['final_loss']:.2e}"
            print(f"     - {loss} / {row['ms_per_step']:.2f}{acc}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--table":
        print_table(json.loads(Path(sys.argv[2]).read_text()))
    else:
        main()
