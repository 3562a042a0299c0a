import jax
import jax.numpy as jnp
import numpy as np
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_adafactor_defaults_factor_large_matrices():
    r = np.random.default_rng(3)
    params = {"w": jnp.asarray(r.normal(size=(128, 256)), jnp.float32), "b": jnp.zeros(256)}
    # A small learning rate: with the default (None, i.e. steps as large as the
    # parameters' RMS) one-ulp differences in the RMS reductions grow to 1e-5.
    expected = run_optax(optax.adafactor(0.01), params, 20)
    actual, opt = run_flarejax(lambda: flr.optim.Adafactor(0.01), params, 20, "init")
    assert_trees_close(actual, expected)
    # Sub-linear state: a row and a column vector for the matrix, no full moment.
    assert opt.v_row["w"].shape == (128,) and opt.v_col["w"].shape == (256,)
    assert "w" not in opt.v and opt.v["b"].shape == (256,)


def test_adafactor_options_match_optax():
    r = np.random.default_rng(4)
    params = {
        "k": jnp.asarray(r.normal(size=(3, 5, 4)), jnp.float32),  # factors axes 1 and 2
        "w": jnp.asarray(r.normal(size=(6, 2)), jnp.float32),
    }
    kwargs = {
        "learning_rate": optax.linear_schedule(0.05, 0.01, 30),
        "min_dim_size_to_factor": 2,
        "decay_rate": 0.6,
        "decay_offset": 0,
        "multiply_by_parameter_scale": False,
        "clipping_threshold": None,
        "momentum": 0.9,
        "weight_decay_rate": optax.linear_schedule(0.0, 0.01, 20),
        "eps": 1e-20,
    }
    expected = run_optax(optax.adafactor(**kwargs), params, 50)
    actual, _ = run_flarejax(lambda: flr.optim.Adafactor(**kwargs), params, 50, "eager")
    assert_trees_close(actual, expected)


def test_adafactor_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    make = lambda: flr.optim.Adafactor(0.01, min_dim_size_to_factor=2)  # noqa: E731
    expected = run_optax(optax.adafactor(0.01, min_dim_size_to_factor=2), params, 10)
    actual, opt = run_flarejax(make, params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert opt.v_row["w"].dtype == jnp.bfloat16
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
