"""A new optimizer in about thirty lines: LaProp, compared with the built-in Adam.

LaProp (Ziyin et al., 2020, arXiv:2002.04839) normalizes the gradient by the RMS
*before* the momentum average, where Adam normalizes after it:

    v_t = b2 v_{t-1} + (1 - b2) g_t^2
    m_t = b1 m_{t-1} + (1 - b1) g_t / (sqrt(v_t / (1 - b2^t)) + eps)
    theta_t = theta_{t-1} - lr m_t / (1 - b1^t)

The class below uses the four hooks: ``__init__`` (hyperparameters, lazy state, a
step counter), ``call_model`` (once per step), ``call_param`` (the update rule)
and ``__call__`` (here: to measure the relative size of each step, which needs the
model before and after it). Both optimizers train the same MLP on scikit-learn's
digits; the script writes ``custom_optimizer.png`` to ``--out``.

    python examples/custom_optimizer.py [--smoke] [--out DIR]
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from tqdm import tqdm

import flarejax as flr

matplotlib.use("Agg")
import matplotlib.pyplot as plt


class LaProp(flr.opt.Optimizer):
    """LaProp: Adam with the RMS normalization moved inside the momentum."""

    def __init__(self, learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-15):
        self.learning_rate = learning_rate
        self.b1, self.b2, self.eps = b1, b2, eps
        self.m, self.v = {}, {}
        self.t = jnp.zeros((), jnp.uint32)  # an array: a new step does not recompile
        self.step_ratio = jnp.zeros((), jnp.float32)  # ||delta theta|| / ||theta||

    def call_model(self, grads, **_):
        self.t = self.t + 1
        return grads

    def call_param(self, key, grad, **_):
        if key not in self.m:
            self.m[key], self.v[key] = jnp.zeros_like(grad), jnp.zeros_like(grad)
        self.v[key] = self.b2 * self.v[key] + (1 - self.b2) * grad**2
        v_hat = self.v[key] / (1 - self.b2**self.t)
        normalized = grad / (jnp.sqrt(v_hat) + self.eps)
        self.m[key] = self.b1 * self.m[key] + (1 - self.b1) * normalized
        return self.current(self.learning_rate) * self.m[key] / (1 - self.b1**self.t)

    def __call__(self, model, grads, **extras):
        new = super().__call__(model, grads, **extras)
        sq = lambda tree: sum(jnp.sum(x**2) for x in jax.tree.leaves(tree))  # noqa: E731
        self.step_ratio = jnp.sqrt(sq(jax.tree.map(jnp.subtract, new, model)) / sq(model))
        return new


@functools.partial(jax.jit, static_argnums=1)
def init_mlp(key, sizes=(64, 64, 10)):
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"kernel": jax.random.normal(k, (i, o)) * jnp.sqrt(2.0 / i), "bias": jnp.zeros(o)}
        for k, i, o in zip(keys, sizes, sizes[1:])
    ]


def loss_fn(model, x, y):
    for layer in model[:-1]:
        x = jax.nn.relu(x @ layer["kernel"] + layer["bias"])
    logits = x @ model[-1]["kernel"] + model[-1]["bias"]
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


@jax.jit
def train_step(opt, model, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
    return opt, opt(model, grads, loss=loss), loss


def train(opt, x, y, steps, batch, seed, name):
    model = init_mlp(jax.random.key(seed))
    opt.init(model)
    rng = np.random.default_rng(seed)
    losses, ratios = [], []
    with tqdm(range(steps), desc=name, unit="step") as bar:
        for _ in bar:
            idx = rng.integers(0, len(x), size=batch)
            opt, model, loss = train_step(opt, model, x[idx], y[idx])
            losses.append(float(loss))
            ratios.append(float(opt.step_ratio) if isinstance(opt, LaProp) else np.nan)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    full = float(loss_fn(model, x, y))
    return np.array(losses), np.array(ratios), full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    steps = 10 if args.smoke else args.steps

    digits = load_digits()
    x = jnp.asarray(digits.data / 16.0, jnp.float32)
    y = jnp.asarray(digits.target)

    results = {}
    for name, opt in [
        ("LaProp", LaProp(learning_rate=2e-3)),
        ("Adam (built-in)", flr.optim.Adam(learning_rate=2e-3)),
    ]:
        results[name] = train(opt, x, y, steps, batch=64, seed=0, name=name)
        print(f"{name:16s} final loss on all digits: {results[name][2]:.4f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    window = max(1, min(20, steps // 5))
    for name, (losses, _, _) in results.items():
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax1.plot(smooth, label=name)
    ax1.set(xlabel="step", ylabel=f"training loss ({window}-step mean)", yscale="log")
    ax1.legend()
    ax2.plot(results["LaProp"][1])
    ax2.set(
        xlabel="step",
        ylabel="||step|| / ||params||",
        yscale="log",
        title="LaProp's relative step size (from __call__)",
    )
    fig.tight_layout()
    path = args.out / "custom_optimizer.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
