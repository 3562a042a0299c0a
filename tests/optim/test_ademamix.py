import jax
import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_ademamix_float32_state_for_bfloat16_params():
    params = models(jnp.bfloat16)["matrix"]
    make = lambda: flr.optim.AdEMAMix(0.01, mu_dtype=jnp.float32)  # noqa: E731
    actual, opt = run_flarejax(make, params, 20, "jit")
    expected = run_optax(optax.contrib.ademamix(0.01, mu_dtype=jnp.float32), params, 20)
    # Plain optax folds 1 - b2 in float64: a tiny difference can round a bfloat16
    # parameter one ulp (0.4%) apart.
    assert_trees_close(actual, expected, rtol=1e-2, atol=1e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))
    for state in (opt.m_fast, opt.m_slow, opt.v):
        assert {x.dtype for x in state.values()} == {jnp.dtype(jnp.float32)}
