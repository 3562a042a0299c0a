import jax
import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_signum_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.signum(0.01), params, 10)
    actual, opt = run_flarejax(lambda: flr.optim.Signum(0.01), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert all(m.dtype == jnp.bfloat16 for m in opt.m.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


def test_signum_float32_accumulator_matches_optax():
    params = models(jnp.bfloat16)["flat"]
    tx = optax.signum(0.01, accumulator_dtype=jnp.float32)
    expected = run_optax(tx, params, 10)
    make = lambda: flr.optim.Signum(0.01, accumulator_dtype=jnp.float32)  # noqa: E731
    actual, opt = run_flarejax(make, params, 10, "init")
    assert all(m.dtype == jnp.float32 for m in opt.m.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
