import jax.numpy as jnp
import optax
import pytest
from helpers import check_parity, f32

from flarejax.optim import SGD, Adam, Chain, Clip, ClipByBlockRMS, ClipByGlobalNorm


@pytest.mark.parametrize("max_norm", [0.5, 1e3])  # clipping, and not
def test_clip_by_global_norm_matches_optax(max_norm):
    check_parity(
        lambda: Chain(ClipByGlobalNorm(max_norm), SGD(0.05)),
        optax.chain(optax.clip_by_global_norm(max_norm), optax.sgd(0.05)),
        model_names=("nested",),
        modes=("eager", "jit"),
    )


def test_clip_matches_optax():
    check_parity(
        lambda: Chain(Clip(0.3), Adam(0.01)),
        optax.chain(optax.clip(0.3), f32(optax.adam, 0.01)),
        model_names=("nested",),
        modes=("jit",),
    )


def test_clip_by_block_rms_matches_optax():
    check_parity(
        lambda: Chain(ClipByBlockRMS(0.8), SGD(0.05)),
        optax.chain(optax.clip_by_block_rms(0.8), optax.sgd(0.05)),
        model_names=("nested",),
        modes=("jit",),
    )


def test_clipping_bfloat16_keeps_dtype():
    check_parity(
        lambda: Chain(ClipByGlobalNorm(1.0), Clip(0.2), ClipByBlockRMS(0.5), SGD(0.05)),
        optax.chain(
            optax.clip_by_global_norm(1.0),
            optax.clip(0.2),
            optax.clip_by_block_rms(0.5),
            optax.sgd(0.05),
        ),
        steps=20,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        model_names=("flat",),
        modes=("jit",),
    )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Clip(-1.0), r"max_delta must be >= 0, got -1\.0"),
        (lambda: ClipByGlobalNorm(0.0), r"max_norm must be > 0, got 0\.0"),
        (lambda: ClipByBlockRMS(-2.0), r"threshold must be > 0, got -2\.0"),
    ],
)
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()
