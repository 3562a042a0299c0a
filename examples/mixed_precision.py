"""bfloat16 training on scikit-learn's digits: five ways to keep the optimizer's precision.

An MLP classifier, trained with Adam and a cosine learning-rate decay, in

* float32 (the baseline);
* bfloat16 parameters and state (``Adam``);
* bfloat16 parameters, float32 state and arithmetic (``Adam(..., state_dtype=jnp.float32)``);
* the same with stochastic rounding of the parameters (``StochasticRounding``);
* bfloat16 parameters with a float32 master copy (``MasterWeights(Adam(...))``).

Writes ``mixed_precision.png`` (training loss and test accuracy) and
``mixed_precision.json`` (final loss, accuracy and optimizer state bytes) to
``--out``; the mixed-precision guide shows both.

    python examples/mixed_precision.py            # full run (about a minute on a laptop CPU)
    python examples/mixed_precision.py --smoke    # a few steps

Needs the ``examples`` extra (scikit-learn, matplotlib).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import flarejax as flr
import flarejax.schedules

matplotlib.use("Agg")
import matplotlib.pyplot as plt

O = flr.optim


def init_mlp(key: jax.Array, sizes: tuple[int, ...], dtype: Any) -> list[dict[str, jax.Array]]:
    """He-initialized dense layers ``[{"kernel", "bias"}, ...]`` in ``dtype``."""
    layers = []
    keys = jax.random.split(key, len(sizes) - 1)
    for k, (fan_in, fan_out) in zip(keys, itertools.pairwise(sizes)):
        kernel = jax.random.normal(k, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in)
        layers.append({"kernel": kernel.astype(dtype), "bias": jnp.zeros(fan_out, dtype)})
    return layers


def logits_fn(model: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    x = x.astype(model[0]["kernel"].dtype)  # the forward pass in the parameters' dtype
    for layer in model[:-1]:
        x = jax.nn.gelu(x @ layer["kernel"] + layer["bias"])
    return (x @ model[-1]["kernel"] + model[-1]["bias"]).astype(jnp.float32)


def loss_fn(model: list[dict[str, jax.Array]], x: jax.Array, y: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits_fn(model, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


@jax.jit
def train_step(opt: Any, model: Any, x: jax.Array, y: jax.Array) -> tuple[Any, Any, jax.Array]:
    loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
    model = opt(model, grads)
    return opt, model, loss


@jax.jit
def accuracy(model: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(jnp.argmax(logits_fn(model, x), axis=-1) == y)


# name -> (parameter dtype, optimizer from a learning rate)
SETUPS: dict[str, tuple[Any, Callable[[Any], O.Optimizer]]] = {
    "float32": (jnp.float32, lambda lr: O.Adam(lr)),
    "bfloat16": (jnp.bfloat16, lambda lr: O.Adam(lr)),
    "bfloat16, state_dtype=float32": (
        jnp.bfloat16,
        lambda lr: O.Adam(lr, state_dtype=jnp.float32),
    ),
    "bfloat16, state_dtype=float32 + StochasticRounding": (
        jnp.bfloat16,
        lambda lr: O.StochasticRounding(O.Adam(lr, state_dtype=jnp.float32)),
    ),
    "bfloat16 + MasterWeights": (jnp.bfloat16, lambda lr: O.MasterWeights(O.Adam(lr))),
}


def run(name: str, args: argparse.Namespace, data: tuple[Any, ...]) -> dict[str, Any]:
    x_train, x_test, y_train, y_test = data
    dtype, make = SETUPS[name]
    steps_per_epoch = len(x_train) // args.batch_size
    total = 10 if args.smoke else args.epochs * steps_per_epoch
    schedule = flarejax.schedules.cosine_decay(args.lr, total, alpha=1e-3)
    model = init_mlp(jax.random.key(args.seed), (64, 128, 128, 10), dtype)
    opt = make(schedule)
    opt.init(model)
    rng = np.random.default_rng(args.seed)
    losses, test_acc, step = [], [], 0
    while step < total:
        order = rng.permutation(len(x_train))
        for i in range(steps_per_epoch):
            if step == total:
                break
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            opt, model, loss = train_step(opt, model, x_train[idx], y_train[idx])
            losses.append(float(loss))
            step += 1
        test_acc.append(float(accuracy(model, x_test, y_test)))
    last = losses[-steps_per_epoch:]
    return {
        "losses": losses,
        "test_accuracy": test_acc,
        "final_loss": float(np.mean(last)),
        "final_accuracy": test_acc[-1],
        "param_bytes": sum(x.nbytes for x in jax.tree.leaves(model)),
        "state_bytes": O.state_bytes(opt),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target
    )
    data = (x_train, jnp.asarray(x_test), y_train, jnp.asarray(y_test))

    results = {}
    for name in SETUPS:
        results[name] = run(name, args, data)
        r = results[name]
        print(
            f"{name:52s} loss {r['final_loss']:.4f}  accuracy {r['final_accuracy']:.4f}  "
            f"state {r['state_bytes']:,} B  params {r['param_bytes']:,} B"
        )

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    window = min(20, len(next(iter(results.values()))["losses"]))
    for name, r in results.items():
        smooth = np.convolve(r["losses"], np.ones(window) / window, mode="valid")
        ax1.plot(np.arange(window, len(r["losses"]) + 1), smooth, lw=1, label=name)
        ax2.plot(np.arange(1, len(r["test_accuracy"]) + 1), r["test_accuracy"], lw=1)
    ax1.set(xlabel="step", ylabel=f"training loss ({window}-step mean)", yscale="log")
    ax1.legend(fontsize=7)
    ax2.set(xlabel="epoch", ylabel="test accuracy", ylim=(0.85, 1.0))
    fig.suptitle("MLP on digits, Adam with cosine decay: float32 vs bfloat16 set-ups")
    fig.tight_layout()
    fig.savefig(args.out / "mixed_precision.png", dpi=100)
    summary = {
        name: {k: v for k, v in r.items() if k not in ("losses", "test_accuracy")}
        for name, r in results.items()
    }
    (args.out / "mixed_precision.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.out / 'mixed_precision.png'} and mixed_precision.json")


if __name__ == "__main__":
    main()
