import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_yogi_matches_optax():
    check_parity(
        lambda: flr.optim.Yogi(0.01),
        f32(optax.yogi, 0.01),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_yogi_hyperparameters_and_schedule_match_optax():
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.8, "b2": 0.99, "eps": 1e-6}
    check_parity(
        lambda: flr.optim.Yogi(sched, **kwargs),
        f32(optax.yogi, sched, **kwargs),
        modes=("jit",),
        model_names=("matrix",),
    )


def test_yogi_state_starts_at_initial_accumulator():
    opt = flr.optim.Yogi(0.01)
    opt.init(models()["matrix"])
    for state in (opt.m, opt.v):
        assert [float(x.min()) for x in state.values()] == [pytest.approx(1e-6)]
        assert [float(x.max()) for x in state.values()] == [pytest.approx(1e-6)]


def test_yogi_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.Yogi(0.01), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.yogi(0.01), params, 20), rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"eps": -1e-3}, r"eps must be >= 0, got -0\.001"),
    ],
)
def test_yogi_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Yogi(**{"learning_rate": 0.01, **kwargs})
