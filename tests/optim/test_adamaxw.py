import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_adamaxw_matches_optax():
    check_parity(
        lambda: flr.optim.AdamaxW(0.01, weight_decay=0.1),
        f32(optax.adamaxw, 0.01, weight_decay=0.1),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_adamaxw_is_adamax():
    assert issubclass(flr.optim.AdamaxW, flr.optim.Adamax)


def test_adamaxw_mask_and_schedules_match_optax():
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    ref = optax.inject_hyperparams(optax.adamaxw, static_args=("mask",))(
        lr, weight_decay=wd, mask=lambda params: jax.tree.map(lambda p: p.ndim < 2, params)
    )
    check_parity(
        lambda: flr.optim.AdamaxW(lr, weight_decay=wd, mask=("*.bias", "scale")),
        ref,
        modes=("jit",),
        model_names=("nested",),
    )


def test_adamaxw_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.AdamaxW(0.01, weight_decay=0.1), params, 20, "jit")
    expected = run_optax(optax.adamaxw(0.01, weight_decay=0.1), params, 20)
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.5}, r"b1 must be in \[0, 1\), got 1\.5"),
        ({"b2": 1.0}, r"b2 must be in \[0, 1\), got 1\.0"),
        ({"eps": -1.0}, r"eps must be >= 0, got -1\.0"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0, got -0\.1"),
        ({"mask": ""}, r"the empty pattern"),
    ],
)
def test_adamaxw_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.AdamaxW(**{"learning_rate": 0.01, **kwargs})
