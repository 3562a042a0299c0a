import jax.numpy as jnp
import optax
import pytest
from helpers import check_parity

from flarejax.optim import SGD, Chain, Clip, ClipByBlockRMS, ClipByGlobalNorm


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
