import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_madgrad_matches_optax():
    check_parity(
        lambda: flr.optim.MADGRAD(0.01),
        f32(optax.contrib.madgrad, 0.01),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_madgrad_options_and_schedule_match_optax():
    sched = optax.linear_schedule(0.02, 0.005, 30)
    # weight_decay scheduled too: every optimizer with a weight decay takes a schedule.
    kwargs = {"momentum": 0.5, "weight_decay": optax.linear_schedule(0.02, 0.005, 20), "eps": 1e-4}
    check_parity(
        lambda: flr.optim.MADGRAD(sched, **kwargs),
        f32(optax.contrib.madgrad, sched, **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_madgrad_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.contrib.madgrad(0.01), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.MADGRAD(0.01), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1\.0"),
        ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
        ({"eps": -1.0}, "eps must be >= 0"),
    ],
)
def test_madgrad_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.MADGRAD(**{"learning_rate": 0.1, **kwargs})
