import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_nadam_matches_optax():
    check_parity(
        lambda: flr.optim.NAdam(0.01),
        f32(optax.nadam, 0.01),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_nadam_hyperparameters_schedule_and_mu_dtype_match_optax():
    # Dyadic b1, b2: plain optax's float64 constants equal float32 ones, so plain
    # optax is the reference. (The float32-injected one would compute b1 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.)
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.5, "b2": 0.75, "eps": 1e-6, "eps_root": 1e-8, "mu_dtype": jnp.bfloat16}
    params = models()["matrix"]
    actual, opt = run_flarejax(lambda: flr.optim.NAdam(sched, **kwargs), params, 50, "init")
    assert_trees_close(actual, run_optax(optax.nadam(sched, **kwargs), params, 50))
    assert [m.dtype for m in opt.m.values()] == [jnp.bfloat16]
    assert [v.dtype for v in opt.v.values()] == [jnp.float32]


def test_nadam_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.NAdam(0.01), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.nadam(0.01), params, 20), rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"eps": -1e-8}, r"eps must be >= 0, got -1e-08"),
        ({"eps_root": -1.0}, r"eps_root must be >= 0, got -1\.0"),
        ({"mu_dtype": jnp.int32}, r"mu_dtype must be a floating dtype"),
    ],
)
def test_nadam_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.NAdam(**{"learning_rate": 0.01, **kwargs})
