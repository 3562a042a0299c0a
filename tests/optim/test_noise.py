import jax
import optax
import pytest
from helpers import check_parity

from flarejax.optim import SGD, AddNoise, Chain


def test_add_noise_matches_optax():
    check_parity(
        lambda: Chain(AddNoise(0.01, 0.55, 3), SGD(0.05)),
        optax.chain(optax.add_noise(0.01, 0.55, key=3), optax.sgd(0.05)),
        model_names=("flat",),
        modes=("jit",),  # eager below; the state is built in __init__: "init" adds nothing
    )


def test_key_argument_matches_optax():
    key = jax.random.key(7)
    check_parity(
        lambda: Chain(AddNoise(0.1, 0.3, key), SGD(0.05)),
        optax.chain(optax.add_noise(0.1, 0.3, key=key), optax.sgd(0.05)),
        model_names=("flat",),
        modes=("eager",),
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [((-0.1, 0.5), r"eta must be >= 0, got -0\.1"), ((0.1, -1.0), r"gamma must be >= 0")],
)
def test_invalid_hyperparameters(args, match):
    with pytest.raises(ValueError, match=match):
        AddNoise(*args)
