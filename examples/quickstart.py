"""flarejax in one minute: fit a small regression, eagerly and under jax.jit.

Run it with ``python examples/quickstart.py`` (``--smoke`` for a few steps). Needs
only jax and numpy.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr


def make_data(n: int = 512, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    """A noisy cubic: y = 0.5 x^3 - x + 0.3 + noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1)).astype(np.float32)
    y = 0.5 * x**3 - x + 0.3 + 0.05 * rng.normal(size=(n, 1)).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y)


def init_model(key: jax.Array, hidden: int = 32) -> dict[str, dict[str, jax.Array]]:
    """A two-layer MLP as a plain dict: any PyTree of arrays is a model."""
    k1, k2 = jax.random.split(key)
    return {
        "hidden": {"kernel": jax.random.normal(k1, (1, hidden)), "bias": jnp.zeros(hidden)},
        "out": {"kernel": jax.random.normal(k2, (hidden, 1)) / hidden**0.5, "bias": jnp.zeros(1)},
    }


def loss_fn(model: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ model["hidden"]["kernel"] + model["hidden"]["bias"])
    pred = h @ model["out"]["kernel"] + model["out"]["bias"]
    return jnp.mean((pred - y) ** 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    args = parser.parse_args()
    steps = 20 if args.smoke else 200
    report = max(steps // 5, 1)
    x, y = make_data()

    # 1. Eagerly, like torch.optim: the optimizer holds its state, and every
    #    step is one compiled call (compiled on the first step, then reused).
    model = init_model(jax.random.key(0))
    opt = flr.optim.Adam(learning_rate=3e-2)
    print("eager loop")
    for step in range(steps):
        model, loss = opt.minimize(loss_fn, model, x, y)
        if step % report == 0 or step == steps - 1:
            print(f"  step {step:4d}  loss {float(loss):.4f}")

    # 2. Under jax.jit, like optax: the optimizer is a PyTree that goes in and
    #    comes out of the compiled step with the model.
    @jax.jit
    def train_step(opt, model, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(model, x, y)
        model = opt(model, grads, loss=loss)
        return opt, model, loss

    model = init_model(jax.random.key(0))
    opt = flr.optim.Adam(learning_rate=3e-2)
    opt.init(model)  # build the state up front: the step compiles once
    print("jitted loop")
    for step in range(steps):
        opt, model, loss = train_step(opt, model, x, y)
        if step % report == 0 or step == steps - 1:
            print(f"  step {step:4d}  loss {float(loss):.4f}")

    # Hyperparameters are attributes; changing a float does not recompile.
    opt.learning_rate = 1e-3
    opt, model, loss = train_step(opt, model, x, y)
    print(f"after {int(opt.t)} steps: loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
