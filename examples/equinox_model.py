"""An Equinox model trained with a flarejax optimizer, eagerly and with eqx.filter_jit.

An Equinox module is a PyTree whose leaves are arrays (the parameters) and other
Python objects (activation functions, sizes). flarejax optimizes the floating-point
array leaves and leaves everything else alone, so a module is a model as it is: no
``eqx.partition`` is needed for the optimizer. The script fits an ``eqx.nn.MLP`` to
a noisy 1-D function, first with eager ``opt.minimize`` steps, then with a step
compiled by ``eqx.filter_jit``, and writes ``equinox_fit.png`` to ``--out``.

    python examples/equinox_model.py [--smoke] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from tqdm import tqdm

import flarejax as flr
import flarejax.schedules

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def target(x: jax.Array) -> jax.Array:
    return jnp.sin(3 * x) + 0.3 * x**2


def loss_fn(model: eqx.nn.MLP, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((jax.vmap(model)(x) - y) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    steps = 10 if args.smoke else args.steps
    eager_steps = min(100, steps // 2)

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(-2, 2, size=(256, 1)), jnp.float32)
    y = target(x) + 0.05 * jnp.asarray(rng.normal(size=(256, 1)), jnp.float32)

    model = eqx.nn.MLP(1, 1, width_size=64, depth=2, activation=jax.nn.tanh, key=jax.random.key(0))
    schedule = flarejax.schedules.warmup_cosine_decay(
        init_value=0.0, peak_value=5e-3, warmup_steps=max(steps // 20, 1), decay_steps=steps
    )
    opt = flr.optim.AdamW(learning_rate=schedule, weight_decay=1e-4)

    # 1. Eagerly: the module goes in, the updated module comes out. Each step is
    #    one compiled call.
    for _ in tqdm(range(eager_steps), desc="eager", unit="step"):
        model, loss = opt.minimize(loss_fn, model, x, y)
    print(f"after {eager_steps} eager steps: loss {float(loss):.4f}")

    # 2. Compiled with eqx.filter_jit. The optimizer is a PyTree like the model:
    #    its arrays (hyperparameters, state, step counter) are traced, its static
    #    attributes (the schedule) are part of the compiled function's key.
    @eqx.filter_jit
    def train_step(model, opt, x, y):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y)
        model = opt(model, grads, loss=loss)
        return model, opt, loss

    losses = []
    with tqdm(range(steps - eager_steps), desc="filter_jit", unit="step") as bar:
        for _ in bar:
            model, opt, loss = train_step(model, opt, x, y)
            losses.append(float(loss))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    final = float(loss_fn(model, x, y))
    print(f"after {int(opt.t)} steps in all: loss {final:.4f} (noise variance 0.0025)")

    grid = jnp.linspace(-2, 2, 200)[:, None]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.scatter(np.asarray(x[:, 0]), np.asarray(y[:, 0]), s=6, alpha=0.5, label="data")
    ax1.plot(grid[:, 0], target(grid)[:, 0], "k--", lw=1, label="target")
    ax1.plot(grid[:, 0], jax.vmap(model)(grid)[:, 0], lw=2, label="eqx.nn.MLP")
    ax1.legend()
    ax1.set(title="fit", xlabel="x", ylabel="y")
    if losses:
        ax2.plot(np.arange(eager_steps, steps), losses)
    ax2.set(title="training loss (filter_jit steps)", xlabel="step", yscale="log")
    fig.tight_layout()
    path = args.out / "equinox_fit.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
