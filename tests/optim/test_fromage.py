import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_fromage_matches_optax():
    check_parity(
        lambda: flr.optim.Fromage(0.05),
        f32(optax.fromage, 0.05),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_fromage_schedule_matches_optax():
    sched = optax.linear_schedule(0.2, 0.01, 30)
    check_parity(
        lambda: flr.optim.Fromage(sched, min_norm=1e-3),
        optax.fromage(sched, min_norm=1e-3),
        modes=("eager",),
        model_names=("flat",),
    )


def test_fromage_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.fromage(0.05), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.Fromage(0.05), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"min_norm": -1.0}, "min_norm must be >= 0"),
    ],
)
def test_fromage_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Fromage(**{"learning_rate": 0.1, **kwargs})
