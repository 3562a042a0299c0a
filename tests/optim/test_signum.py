import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_signum_matches_optax():
    check_parity(
        lambda: flr.optim.Signum(0.01),
        f32(optax.signum, 0.01),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_signum_options_and_schedule_match_optax():
    sched = optax.exponential_decay(0.05, 10, 0.5)
    check_parity(
        lambda: flr.optim.Signum(sched, beta=0.5),
        f32(optax.signum, sched, beta=0.5),
        modes=("eager",),
        model_names=("flat",),
    )


def test_signum_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.signum(0.01), params, 10)
    actual, opt = run_flarejax(lambda: flr.optim.Signum(0.01), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert all(m.dtype == jnp.bfloat16 for m in opt.m.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


def test_signum_float32_accumulator_matches_optax():
    params = models(jnp.bfloat16)["flat"]
    tx = optax.signum(0.01, accumulator_dtype=jnp.float32)
    expected = run_optax(tx, params, 10)
    make = lambda: flr.optim.Signum(0.01, accumulator_dtype=jnp.float32)  # noqa: E731
    actual, opt = run_flarejax(make, params, 10, "init")
    assert all(m.dtype == jnp.float32 for m in opt.m.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"beta": 1.0}, r"beta must be in \[0, 1\), got 1\.0"),
    ],
)
def test_signum_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Signum(**{"learning_rate": 0.1, **kwargs})
