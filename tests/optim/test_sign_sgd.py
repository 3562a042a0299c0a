import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, models, run_flarejax, run_optax

import flarejax as flr


def test_sign_sgd_matches_optax():
    check_parity(
        lambda: flr.optim.SignSGD(0.01),
        optax.sign_sgd(0.01),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_sign_sgd_schedule_matches_optax():
    sched = optax.exponential_decay(0.05, 10, 0.5)
    check_parity(
        lambda: flr.optim.SignSGD(sched),
        optax.sign_sgd(sched),
        modes=("eager",),
        model_names=("flat",),
    )


def test_sign_sgd_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.sign_sgd(0.01), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.SignSGD(0.01), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


def test_sign_sgd_invalid_hyperparameters():
    with pytest.raises(ValueError, match=r"learning_rate must be >= 0, got -0\.1"):
        flr.optim.SignSGD(-0.1)
