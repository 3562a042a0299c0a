import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def f32_betas(b1, b2):
    # optax.inject_hyperparams leaves the betas tuple alone, so plain Python floats
    # would fold 1 - b1 in float64; d grows by 1e5 over the run and amplifies that.
    return (jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32))


def test_prodigy_matches_optax():
    params = models()["nested"]
    expected = run_optax(f32(optax.contrib.prodigy, betas=f32_betas(0.9, 0.999)), params, 50)
    for mode in ("jit", "init"):
        actual, opt = run_flarejax(lambda: flr.optim.Prodigy(), params, 50, mode)
        assert_trees_close(actual, expected)
        assert float(opt.estim_lr) > 1e-2  # the estimate d grew from 1e-6 during the run


def test_prodigy_options_and_schedule_match_optax():
    sched = optax.linear_schedule(0.1, 1.0, 20)
    betas = (0.8, 0.99)
    kwargs = {
        "beta3": 0.9,
        "weight_decay": optax.linear_schedule(0.02, 0.005, 20),  # a schedule too
        "eps": 1e-6,
        "safeguard_warmup": True,
        "estim_lr0": 1e-4,
        "estim_lr_coef": 2.0,
    }
    check_parity(
        lambda: flr.optim.Prodigy(sched, betas=betas, **kwargs),
        f32(optax.contrib.prodigy, sched, betas=f32_betas(*betas), **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_prodigy_bfloat16_keeps_dtype():
    # optax keeps the estimate d in bfloat16 too, flarejax in float32: a loose tolerance.
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.contrib.prodigy(), params, 10)
    actual, opt = run_flarejax(lambda: flr.optim.Prodigy(), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert all(m.dtype == jnp.bfloat16 for m in opt.exp_avg.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, "learning_rate must be >= 0"),
        ({"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0, 1\), got 1\.0"),
        ({"betas": (0.9, -0.1)}, r"betas\[1\] must be in \[0, 1\), got -0\.1"),
        ({"beta3": 1.5}, r"beta3 must be in \[0, 1\), got 1\.5"),
        ({"eps": -1.0}, "eps must be >= 0"),
        ({"estim_lr0": 0.0}, "estim_lr0 must be > 0"),
        ({"estim_lr_coef": -1.0}, "estim_lr_coef must be >= 0"),
        ({"weight_decay": -1.0}, "weight_decay must be >= 0"),
    ],
)
def test_prodigy_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Prodigy(**kwargs)
