import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_optimistic_gd_matches_optax():
    check_parity(
        lambda: flr.optim.OptimisticGD(0.05),
        f32(optax.optimistic_gradient_descent, 0.05),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_optimistic_gd_options_and_schedule_match_optax():
    sched = optax.linear_schedule(0.1, 0.01, 30)
    check_parity(
        lambda: flr.optim.OptimisticGD(sched, alpha=0.5, beta=2.0),
        f32(optax.optimistic_gradient_descent, sched, alpha=0.5, beta=2.0),
        modes=("eager",),
        model_names=("flat",),
    )


def test_optimistic_gd_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.optimistic_gradient_descent(0.05), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.OptimisticGD(0.05), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"alpha": -1.0}, "alpha must be >= 0"),
        ({"beta": -1.0}, "beta must be >= 0"),
    ],
)
def test_optimistic_gd_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.OptimisticGD(**{"learning_rate": 0.1, **kwargs})
