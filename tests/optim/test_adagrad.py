import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, models, run_flarejax, run_optax

import flarejax as flr


def test_adagrad_matches_optax():
    check_parity(
        lambda: flr.optim.Adagrad(0.1),
        optax.adagrad(0.1),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_adagrad_options_and_schedule_match_optax():
    sched = optax.exponential_decay(0.2, 10, 0.5)
    kwargs = {"initial_accumulator_value": 0.0, "eps": 1e-4}
    check_parity(
        lambda: flr.optim.Adagrad(sched, **kwargs),
        optax.adagrad(sched, **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_adagrad_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.adagrad(0.1), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.Adagrad(0.1), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"initial_accumulator_value": -1.0}, "initial_accumulator_value must be >= 0"),
        ({"eps": -1e-7}, "eps must be >= 0"),
    ],
)
def test_adagrad_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Adagrad(**{"learning_rate": 0.1, **kwargs})
