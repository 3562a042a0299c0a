import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_ademamix_matches_optax():
    check_parity(
        lambda: flr.optim.AdEMAMix(0.01, weight_decay=0.05),
        f32(optax.contrib.ademamix, 0.01, weight_decay=0.05),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_ademamix_warmup_schedules_and_mask_match_optax():
    # The paper's usage: alpha and b3 warmed up, here with the learning rate and decay.
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    alpha = optax.linear_schedule(0.0, 8.0, 40)
    b3 = optax.linear_schedule(0.9, 0.999, 40)
    kwargs = {"b1": 0.8, "b2": 0.99, "b3": b3, "alpha": alpha, "eps_root": 1e-8}
    ref = optax.inject_hyperparams(optax.contrib.ademamix, static_args=("mask",))(
        lr, **kwargs, weight_decay=wd, mask={"w": False, "b": True}
    )
    check_parity(
        lambda: flr.optim.AdEMAMix(lr, **kwargs, weight_decay=wd, mask="b"),
        ref,
        modes=("jit",),
        model_names=("flat",),
    )


def test_ademamix_float32_state_for_bfloat16_params():
    params = models(jnp.bfloat16)["matrix"]
    make = lambda: flr.optim.AdEMAMix(0.01, mu_dtype=jnp.float32)  # noqa: E731
    actual, opt = run_flarejax(make, params, 20, "jit")
    expected = run_optax(optax.contrib.ademamix(0.01, mu_dtype=jnp.float32), params, 20)
    # Plain optax folds 1 - b2 in float64: a tiny difference can round a bfloat16
    # parameter one ulp (0.4%) apart.
    assert_trees_close(actual, expected, rtol=1e-2, atol=1e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))
    for state in (opt.m_fast, opt.m_slow, opt.v):
        assert {x.dtype for x in state.values()} == {jnp.dtype(jnp.float32)}


def test_ademamix_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.AdEMAMix(0.01), params, 20, "jit")
    expected = run_optax(optax.contrib.ademamix(0.01), params, 20)
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"b3": 1.0}, r"b3 must be in \[0, 1\), got 1\.0"),
        ({"alpha": -1.0}, r"alpha must be >= 0, got -1\.0"),
        ({"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
        ({"eps_root": -1.0}, r"eps_root must be >= 0, got -1\.0"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0, got -0\.1"),
        ({"mu_dtype": jnp.int32}, r"mu_dtype must be a floating dtype"),
    ],
)
def test_ademamix_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.AdEMAMix(**{"learning_rate": 0.01, **kwargs})
