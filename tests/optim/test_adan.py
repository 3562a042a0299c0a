import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_adan_matches_optax():
    check_parity(
        lambda: flr.optim.Adan(0.01, weight_decay=0.05),
        f32(optax.adan, 0.01, weight_decay=0.05),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_adan_mask_and_schedules_match_optax():
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    kwargs = {"b1": 0.9, "b2": 0.8, "b3": 0.95, "eps": 1e-6, "eps_root": 0.0}
    ref = optax.inject_hyperparams(optax.adan, static_args=("mask",))(
        lr,
        **kwargs,
        weight_decay=wd,
        mask=lambda params: jax.tree.map(lambda p: p.ndim == 2, params),
    )
    check_parity(
        lambda: flr.optim.Adan(lr, **kwargs, weight_decay=wd, mask=lambda key: key == "w"),
        ref,
        modes=("jit",),
        model_names=("flat",),
    )


def test_adan_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.Adan(0.01), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.adan(0.01), params, 20), rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"b3": 2.0}, r"b3 must be in \[0, 1\), got 2\.0"),
        ({"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
        ({"eps_root": -1.0}, r"eps_root must be >= 0, got -1\.0"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0, got -0\.1"),
        ({"mask": 3}, r"mask must be a pattern string"),
    ],
)
def test_adan_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Adan(**{"learning_rate": 0.01, **kwargs})
