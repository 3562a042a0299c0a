import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, check_parity, models, run_flarejax, run_optax

import flarejax as flr


def test_noisy_sgd_matches_optax():
    # Same key, same splitting: the noise itself is equal to optax's. Sampling
    # compiles slowly (about 1 s per leaf structure), hence one small model, and
    # the eager mode in the next test only.
    check_parity(
        lambda: flr.optim.NoisySGD(0.05, key=3),
        optax.noisy_sgd(0.05, key=3),
        modes=("jit", "init"),
        model_names=("flat",),
    )


def test_noisy_sgd_options_and_keys_match_optax():
    sched = optax.linear_schedule(0.05, 0.01, 30)
    check_parity(
        lambda: flr.optim.NoisySGD(sched, eta=0.5, gamma=0.3, key=jax.random.key(7)),
        optax.noisy_sgd(sched, eta=0.5, gamma=0.3, key=jax.random.key(7)),
        modes=("eager",),
        model_names=("flat",),
    )


def test_noisy_sgd_key_forms():
    raw = jax.random.PRNGKey(5)  # a legacy uint32[2] key
    for key in (5, np.int64(5), jax.random.key(5), raw):
        opt = flr.optim.NoisySGD(0.1, key=key)
        assert jnp.array_equal(jax.random.key_data(opt.key), jax.random.key_data(jax.random.key(5)))
    assert jnp.array_equal(
        jax.random.key_data(flr.optim.NoisySGD(0.1).key), jax.random.key_data(jax.random.key(0))
    )


def test_noisy_sgd_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.noisy_sgd(0.05, key=0), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.NoisySGD(0.05, key=0), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"eta": -1.0}, "eta must be >= 0"),
        ({"gamma": -0.5}, "gamma must be >= 0"),
    ],
)
def test_noisy_sgd_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.NoisySGD(**{"learning_rate": 0.1, **kwargs})
