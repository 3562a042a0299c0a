import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_adadelta_matches_optax():
    check_parity(
        lambda: flr.optim.Adadelta(1.0),
        f32(optax.adadelta, 1.0),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_adadelta_options_and_schedule_match_optax():
    sched = optax.linear_schedule(2.0, 0.5, 30)
    wd = optax.linear_schedule(0.0, 0.1, 20)
    kwargs = {"rho": 0.8, "eps": 1e-4}
    check_parity(
        lambda: flr.optim.Adadelta(sched, weight_decay=wd, **kwargs),
        f32(optax.adadelta, sched, weight_decay=wd, **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_adadelta_bfloat16_keeps_dtype_and_descends_without_learning_rate():
    # optax 0.2.8 ascends with learning_rate=None (no sign flip); the paper's step is eta = 1.
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.adadelta(1.0), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.Adadelta(), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -1.0}, "learning_rate must be >= 0, got -1.0"),
        ({"rho": 1.5}, r"rho must be in \[0, 1\], got 1\.5"),
        ({"eps": -1.0}, "eps must be >= 0"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ],
)
def test_adadelta_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Adadelta(**kwargs)
