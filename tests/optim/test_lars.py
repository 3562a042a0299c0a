import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_lars_matches_optax():
    check_parity(
        lambda: flr.optim.LARS(0.5),
        f32(optax.lars, 0.5),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_lars_options_and_schedules_match_optax():
    sched = optax.linear_schedule(1.0, 0.1, 40)
    kwargs = {
        "weight_decay": optax.linear_schedule(0.0, 0.1, 20),
        "trust_coefficient": 0.02,
        "eps": 1e-3,
        "momentum": 0.5,
        "nesterov": True,
    }
    check_parity(
        lambda: flr.optim.LARS(sched, **kwargs),
        f32(optax.lars, sched, **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_lars_zero_parameter_gets_plain_step():
    # A zero parameter has no trust signal: the ratio is 1, as in optax.
    params = {"w": jnp.zeros((3, 2)), "b": jnp.ones(2)}
    expected = run_optax(optax.lars(0.1, momentum=0.0), params, 1)
    actual, _ = run_flarejax(lambda: flr.optim.LARS(0.1, momentum=0.0), params, 1)
    assert_trees_close(actual, expected)


def test_lars_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.lars(0.5, trust_coefficient=0.01), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.LARS(0.5, trust_coefficient=0.01), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ({"trust_coefficient": -1.0}, "trust_coefficient must be >= 0"),
        ({"eps": -1.0}, "eps must be >= 0"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1\.0"),
    ],
)
def test_lars_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.LARS(**{"learning_rate": 0.1, **kwargs})
