"""A class-conditioned variational autoencoder (Flax linen) trained with flarejax.

The model follows the classic Flax + Optax walk-through: ``FeedForward`` stacks for
the encoder and the decoder, a projection to the latent mean and log-variance, a
projection back from the latent space, and a projection of the one-hot class that
is added before decoding, so that the decoder can be asked for a given digit. The
loss is the reconstruction error plus ``kl_weight`` times the KL divergence to the
standard normal prior. Only the optimizer changes: a flarejax ``AdamW`` passed
through the jitted training step instead of an optax state.

Data: scikit-learn's 8x8 handwritten digits. Writes ``vae_samples.png`` (generated
digits, one row per class) and ``vae_loss.png`` to ``--out``.

    python examples/vae.py [--smoke] [--out DIR]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from sklearn.datasets import load_digits
from tqdm import tqdm

import flarejax as flr

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NUM_CLASSES = 10
IMAGE_SIZE = 8 * 8


class FeedForward(nn.Module):
    """Dense layers with an activation after each (optionally not after the last)."""

    dimensions: Sequence[int] = (256, 128, 64)
    activation_fn: Callable[[jax.Array], jax.Array] = nn.relu
    drop_last_activation: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, d in enumerate(self.dimensions):
            x = nn.Dense(d)(x)
            if i != len(self.dimensions) - 1 or not self.drop_last_activation:
                x = self.activation_fn(x)
        return x


class VAE(nn.Module):
    """Encoder -> (mean, log-variance) -> sample -> + class projection -> decoder."""

    encoder_dimensions: Sequence[int] = (256, 128, 64)
    decoder_dimensions: Sequence[int] = (128, 256, IMAGE_SIZE)
    latent_dim: int = 4
    activation_fn: Callable[[jax.Array], jax.Array] = nn.relu

    def setup(self) -> None:
        self.encoder = FeedForward(self.encoder_dimensions, self.activation_fn)
        self.pre_latent_proj = nn.Dense(self.latent_dim * 2)
        self.post_latent_proj = nn.Dense(self.encoder_dimensions[-1])
        self.class_proj = nn.Dense(self.encoder_dimensions[-1])
        # Images are in [0, 1]: the final ReLU keeps the reconstruction non-negative.
        self.decoder = FeedForward(self.decoder_dimensions, self.activation_fn)

    def reparam(self, mean: jax.Array, logvar: jax.Array, key: jax.Array) -> jax.Array:
        std = jnp.exp(0.5 * logvar)
        return mean + std * jax.random.normal(key, mean.shape)

    def encode(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean, logvar = jnp.split(self.pre_latent_proj(self.encoder(x)), 2, axis=-1)
        return mean, logvar

    def decode(self, z: jax.Array, c: jax.Array) -> jax.Array:
        return self.decoder(self.post_latent_proj(z) + self.class_proj(c))

    def __call__(self, x: jax.Array, c: jax.Array, key: jax.Array):
        mean, logvar = self.encode(x)
        z = self.reparam(mean, logvar, key)
        return self.decode(z, c), mean, logvar


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run a few steps only")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--latent-dim", type=int, default=4)
    # 0.5 in the walk-through, for 784-pixel MNIST; the reconstruction term of an
    # 8x8 digit is about 12 times smaller, and so is the KL weight here.
    parser.add_argument("--kl-weight", type=float, default=0.05)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    steps = 10 if args.smoke else args.steps
    kl_weight = args.kl_weight

    digits = load_digits()
    images = (digits.data / 16.0).astype(np.float32)
    labels = digits.target

    model = VAE(latent_dim=args.latent_dim)
    key = jax.random.key(0)
    key, init_key, call_key = jax.random.split(key, 3)
    params = jax.jit(model.init)(  # one compiled call instead of one per layer
        init_key,
        jnp.zeros((1, IMAGE_SIZE)),
        jnp.zeros((1, NUM_CLASSES)),
        call_key,
    )

    def loss_fn(params, x, c, key):
        c = jax.nn.one_hot(c, NUM_CLASSES)
        recon, mean, logvar = model.apply(params, x, c, key)
        mse_loss = jnp.mean(jnp.sum(0.5 * (recon - x) ** 2, axis=-1))
        kl_loss = jnp.mean(-0.5 * jnp.sum(1 + logvar - mean**2 - jnp.exp(logvar), axis=-1))
        return mse_loss + kl_weight * kl_loss, (mse_loss, kl_loss)

    @jax.jit
    def train_step(opt, params, x, c, key):
        (loss, (mse_loss, kl_loss)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, x, c, key
        )
        params = opt(params, grads, loss=loss)
        return opt, params, loss, mse_loss, kl_loss

    opt = flr.optim.AdamW(learning_rate=1e-3, weight_decay=1e-4)
    opt.init(params)

    rng = np.random.default_rng(0)
    history = []
    with tqdm(range(steps), desc="vae", unit="step") as bar:
        for _ in bar:
            idx = rng.integers(0, len(images), size=args.batch_size)
            key, step_key = jax.random.split(key)
            opt, params, loss, mse_loss, kl_loss = train_step(
                opt, params, images[idx], labels[idx], step_key
            )
            history.append((float(loss), float(mse_loss), float(kl_loss)))
            bar.set_postfix(loss=f"{history[-1][0]:.3f}", refresh=False)

    last = np.mean(history[-max(1, min(100, steps // 4)) :], axis=0)
    print(f"final loss {last[0]:.4f}  (reconstruction {last[1]:.4f}, KL {last[2]:.4f})")

    # Generate: 10 samples per class from the prior, decoded with the class.
    key, z_key = jax.random.split(key)
    per_class = 10
    z = jax.random.normal(z_key, (NUM_CLASSES * per_class, args.latent_dim))
    c = jax.nn.one_hot(np.repeat(np.arange(NUM_CLASSES), per_class), NUM_CLASSES)
    samples = jax.jit(lambda p, z, c: model.apply(p, z, c, method=VAE.decode))(params, z, c)
    # A one-pixel white border around every 8x8 digit.
    tiles = np.pad(
        np.asarray(samples).reshape(NUM_CLASSES, per_class, 8, 8), [(0, 0)] * 2 + [(1, 1)] * 2
    )
    grid = tiles.transpose(0, 2, 1, 3).reshape(NUM_CLASSES * 10, per_class * 10)

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(np.clip(grid, 0, 1), cmap="gray_r", interpolation="nearest")
    ax.set_yticks(np.arange(NUM_CLASSES) * 10 + 4.5, [str(i) for i in range(NUM_CLASSES)])
    ax.set_xticks([])
    ax.set(ylabel="class", title="VAE samples, one row per class")
    fig.tight_layout()
    path = args.out / "vae_samples.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")

    history_arr = np.array(history)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, name in enumerate(["loss", "reconstruction", "KL"]):
        ax.plot(history_arr[:, i], lw=0.8, label=name)
    ax.set(xlabel="step", ylabel="value", yscale="log", title="VAE training (flarejax AdamW)")
    ax.legend()
    fig.tight_layout()
    path = args.out / "vae_loss.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
