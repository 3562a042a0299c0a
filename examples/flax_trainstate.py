"""flarejax in a Flax ``TrainState`` training loop.

Flax programs keep everything a step needs in one ``TrainState`` and write
``state, metrics = train_step(state, batch)``. ``flr.optim.to_optax`` turns any
flarejax optimizer into the optax transformation that ``TrainState`` expects; the
optax state it keeps (``state.opt_state``) is the flarejax optimizer itself, so its
hyperparameters and step counter are readable attributes
(``state.opt_state.learning_rate``, ``state.opt_state.t``).

The model is a small Flax linen CNN on scikit-learn's 8x8 digits, trained with
SGD + Nesterov momentum and a cosine schedule from ``flarejax.schedules``. Writes
``flax_trainstate.png`` to ``--out``.

    python examples/flax_trainstate.py [--smoke] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from flax.training.train_state import TrainState
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import flarejax as flr
import flarejax.schedules

matplotlib.use("Agg")
import matplotlib.pyplot as plt


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(nn.Conv(16, (3, 3))(x))
        x = nn.relu(nn.Conv(32, (3, 3))(x))
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(64)(x))
        return nn.Dense(10)(x)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


@jax.jit
def train_step(state: TrainState, batch: tuple[jax.Array, jax.Array]):
    images, labels = batch

    def loss_fn(params):
        logits = state.apply_fn({"params": params}, images)
        return cross_entropy(logits, labels), logits

    (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads)
    accuracy = jnp.mean(jnp.argmax(logits, -1) == labels)
    return state, {"loss": loss, "accuracy": accuracy}


@jax.jit
def eval_step(state: TrainState, batch: tuple[jax.Array, jax.Array]):
    images, labels = batch
    logits = state.apply_fn({"params": state.params}, images)
    return {
        "loss": cross_entropy(logits, labels),
        "accuracy": jnp.mean(jnp.argmax(logits, -1) == labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    steps = 10 if args.smoke else args.steps

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # NHWC
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    test_batch = (jnp.asarray(x_test), jnp.asarray(y_test))

    model = CNN()
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))["params"]
    schedule = flarejax.schedules.cosine_decay(init_value=0.05, decay_steps=steps)
    opt = flr.optim.SGD(learning_rate=schedule, momentum=0.9, nesterov=True)
    state = TrainState.create(apply_fn=model.apply, params=params, tx=flr.optim.to_optax(opt))

    rng = np.random.default_rng(0)
    history: dict[str, list[float]] = {"step": [], "train": [], "test": []}
    with tqdm(range(steps), desc="flax TrainState", unit="step") as bar:
        for i in bar:
            idx = rng.integers(0, len(x_train), size=args.batch_size)
            state, metrics = train_step(state, (x_train[idx], y_train[idx]))
            bar.set_postfix(loss=f"{float(metrics['loss']):.4f}", refresh=False)
            if i % max(1, steps // 20) == 0 or i == steps - 1:
                history["step"].append(i)
                history["train"].append(float(metrics["accuracy"]))
                history["test"].append(float(eval_step(state, test_batch)["accuracy"]))

    final = eval_step(state, test_batch)
    sgd = state.opt_state  # the flarejax optimizer, as the optax state
    lr = float(sgd.hyperparameters()["learning_rate"])
    print(f"steps {int(state.step)}, optimizer steps {int(sgd.t)}, learning rate now {lr:.4f}")
    print(f"test loss {float(final['loss']):.4f}  test accuracy {float(final['accuracy']):.4f}")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["step"], history["train"], marker="o", ms=3, label="train batch")
    ax.plot(history["step"], history["test"], marker="o", ms=3, label="test set")
    ax.set(xlabel="step", ylabel="accuracy", title="Flax CNN, flarejax SGD via to_optax")
    ax.legend()
    fig.tight_layout()
    path = args.out / "flax_trainstate.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
