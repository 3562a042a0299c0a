import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, f32, models, run_flarejax, run_optax

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
        ({"betas": (1.0, 0.999)}, "betas\\[0\\] must be in \\[0, 1\\), got 1\\.0"),
        ({"betas": (0.9, -0.1)}, "betas\\[1\\] must be in \\[0, 1\\), got -0\\.1"),
    ],
)
def test_prodigy_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Prodigy(**kwargs)
