import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_lamb_matches_optax():
    check_parity(
        lambda: flr.optim.LAMB(0.01, weight_decay=0.05),
        f32(optax.lamb, 0.01, weight_decay=0.05),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_lamb_zero_parameter_mask_and_schedules_match_optax():
    # A zero-initialized bias has a zero norm: its trust ratio is 1, not 0.
    params = {"w": models()["flat"]["w"], "b": jnp.zeros(3)}
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    kwargs = {"b1": 0.8, "b2": 0.99, "eps": 1e-8, "eps_root": 1e-8, "weight_decay": wd}
    ref = optax.inject_hyperparams(optax.lamb, static_args=("mask",))
    expected = run_optax(ref(lr, **kwargs, mask={"w": True, "b": False}), params, 50)
    actual, _ = run_flarejax(lambda: flr.optim.LAMB(lr, **kwargs, mask="w"), params, 50, "jit")
    assert_trees_close(actual, expected)


def test_lamb_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.LAMB(0.01), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.lamb(0.01), params, 20), rtol=2e-2, atol=2e-2)
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
        ({"mask": ["w", 1]}, r"must be a string"),
    ],
)
def test_lamb_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.LAMB(**{"learning_rate": 0.01, **kwargs})
