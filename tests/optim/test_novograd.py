import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_novograd_matches_optax():
    check_parity(
        lambda: flr.optim.NovoGrad(0.01, weight_decay=0.05),
        f32(optax.novograd, 0.01, weight_decay=0.05),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_novograd_hyperparameters_and_schedule_match_optax():
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.8, "b2": 0.5, "eps": 1e-8, "eps_root": 1e-8}
    check_parity(
        lambda: flr.optim.NovoGrad(sched, **kwargs),
        f32(optax.novograd, sched, **kwargs),
        modes=("jit",),
        model_names=("matrix",),
    )


def test_novograd_second_moment_is_one_scalar_per_parameter():
    opt = flr.optim.NovoGrad(0.01)
    opt.init(models()["flat"])
    assert {v.shape for v in opt.v.values()} == {()}


def test_novograd_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.NovoGrad(0.01), params, 20, "jit")
    expected = run_optax(optax.novograd(0.01), params, 20)
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"eps": -1e-6}, r"eps must be >= 0, got -1e-06"),
        ({"eps_root": -1.0}, r"eps_root must be >= 0, got -1\.0"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0, got -0\.1"),
    ],
)
def test_novograd_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.NovoGrad(**{"learning_rate": 0.01, **kwargs})
