"""An MLP classifier on scikit-learn's handwritten digits.

AdamW with a warm-up + cosine learning-rate schedule and global-norm gradient
clipping, composed as ``Chain(ClipByGlobalNorm(1.0), AdamW(schedule))`` and
wrapped in ``Diagnostics`` to log the gradient norm, the update norm and the
largest update-to-kernel ratio of every step. The full run reaches about
97-98% test accuracy in well under a minute on a laptop CPU; it writes
``classifier_curves.png`` (training loss, test accuracy and the step
statistics) to ``--out``.

    python examples/classifier.py            # full run
    python examples/classifier.py --smoke    # a few steps

Needs the ``examples`` extra (scikit-learn, matplotlib, tqdm).
"""

from __future__ import annotations

import argparse
import functools
import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import flarejax as flr
import flarejax.schedules

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@functools.partial(jax.jit, static_argnums=1)
def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    """He-initialized dense layers: ``[{"kernel", "bias"}, ...]``."""
    layers = []
    keys = jax.random.split(key, len(sizes) - 1)
    for k, (fan_in, fan_out) in zip(keys, itertools.pairwise(sizes)):
        kernel = jax.random.normal(k, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in)
        layers.append({"kernel": kernel, "bias": jnp.zeros(fan_out)})
    return layers


def logits_fn(model: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in model[:-1]:
        x = jax.nn.gelu(x @ layer["kernel"] + layer["bias"])
    return x @ model[-1]["kernel"] + model[-1]["bias"]


def loss_fn(model: list[dict[str, jax.Array]], x: jax.Array, y: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits_fn(model, x))
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


@jax.jit
def train_step(opt, model, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
    model = opt(model, grads, loss=loss)
    # The statistics of this step, read from the optimizer the step returns.
    stats = opt.stats()
    # The kernels' ratios: the biases start at zero, where any update is a large ratio.
    ratios = [v for k, v in stats.items() if k.startswith("ratio/") and k.endswith("kernel")]
    return opt, model, loss, {**stats, "max_ratio": jnp.max(jnp.stack(ratios))}


@jax.jit
def accuracy(model, x, y):
    return jnp.mean(jnp.argmax(logits_fn(model, x), axis=-1) == y)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target
    )
    x_test, y_test = jnp.asarray(x_test), jnp.asarray(y_test)
    steps_per_epoch = len(x_train) // args.batch_size
    epochs = 1 if args.smoke else args.epochs
    total_steps = 10 if args.smoke else epochs * steps_per_epoch

    schedule = flarejax.schedules.warmup_cosine_decay(
        init_value=0.0,
        peak_value=3e-3,
        warmup_steps=max(total_steps // 20, 1),
        decay_steps=total_steps,
        end_value=3e-5,
    )
    # Diagnostics measures each step (opt-in: unwrapped, nothing is computed).
    opt = flr.optim.Diagnostics(
        flr.optim.Chain(
            flr.optim.ClipByGlobalNorm(1.0),
            flr.optim.AdamW(learning_rate=schedule, weight_decay=1e-2),
        )
    )
    model = init_mlp(jax.random.key(args.seed), (64, 128, 128, 10))
    opt.init(model)

    rng = np.random.default_rng(args.seed)
    losses, test_acc, step = [], [], 0
    logged: dict[str, list[float]] = {"grad_norm": [], "update_norm": [], "max_ratio": []}
    with tqdm(total=total_steps, desc="classifier", unit="step") as bar:
        for epoch in range(epochs):
            order = rng.permutation(len(x_train))
            for i in range(steps_per_epoch):
                if step == total_steps:
                    break
                idx = order[i * args.batch_size : (i + 1) * args.batch_size]
                opt, model, loss, stats = train_step(opt, model, x_train[idx], y_train[idx])
                losses.append(float(loss))
                for name, values in logged.items():
                    values.append(float(stats[name]))
                step += 1
                bar.set_postfix(
                    loss=f"{losses[-1]:.4f}",
                    gnorm=f"{logged['grad_norm'][-1]:.3f}",
                    ratio=f"{logged['max_ratio'][-1]:.1e}",
                    epoch=epoch,
                    refresh=False,
                )
                bar.update()
            test_acc.append(float(accuracy(model, x_test, y_test)))

    print(f"final training loss {np.mean(losses[-steps_per_epoch:]):.4f}")
    print(f"test accuracy {test_acc[-1]:.4f} after {step} steps")
    clipped = np.mean(np.asarray(logged["grad_norm"]) > 1.0)
    print(f"gradient norm above the clip threshold in {clipped:.0%} of the steps")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    ax1.plot(losses, lw=0.8)
    ax1.set(xlabel="step", ylabel="training loss", yscale="log", title="loss")
    ax2.plot(np.arange(1, len(test_acc) + 1), test_acc, marker="o", ms=3)
    ax2.set(xlabel="epoch", ylabel="test accuracy", title=f"test accuracy {test_acc[-1]:.3f}")
    ax2.set_ylim(min(0.8, min(test_acc)), 1.0)
    ax3.plot(logged["grad_norm"], lw=0.8, label="gradient norm (before clipping)")
    ax3.plot(logged["update_norm"], lw=0.8, label="update norm")
    ax3.plot(logged["max_ratio"], lw=0.8, label="largest |update| / |kernel|")
    ax3.axhline(1.0, color="gray", ls=":", lw=0.8, label="clip threshold")
    ax3.set(xlabel="step", yscale="log", title="Diagnostics, per step")
    ax3.legend(fontsize=8)
    fig.suptitle("MLP on digits: Chain(ClipByGlobalNorm, AdamW) + warm-up cosine")
    fig.tight_layout()
    path = args.out / "classifier_curves.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
