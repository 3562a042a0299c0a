import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_radam_matches_optax():
    # Over 50 steps rho_t crosses the threshold (at t = 6): both branches run.
    check_parity(
        lambda: flr.optim.RAdam(0.01),
        f32(optax.radam, 0.01),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_radam_nesterov_threshold_and_schedule_match_optax():
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.8, "b2": 0.99, "eps": 1e-6, "eps_root": 1e-8, "threshold": 20.0}
    ref = optax.inject_hyperparams(optax.radam, static_args=("nesterov",))
    check_parity(
        lambda: flr.optim.RAdam(sched, **kwargs, nesterov=True),
        ref(sched, **kwargs, nesterov=True),
        modes=("jit",),
        model_names=("matrix",),
    )


def test_radam_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.RAdam(0.01), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.radam(0.01), params, 20), rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": 1.0}, r"b2 must be in \[0, 1\), got 1\.0"),
        ({"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
        ({"eps_root": -1.0}, r"eps_root must be >= 0, got -1\.0"),
    ],
)
def test_radam_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.RAdam(**{"learning_rate": 0.01, **kwargs})
