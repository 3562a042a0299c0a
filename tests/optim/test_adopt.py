import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_adopt_mu_dtype_matches_optax():
    # Plain optax as reference: the float32-injected one would compute b1 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.
    params = models()["matrix"]
    make = lambda: flr.optim.ADOPT(0.01, mu_dtype=jnp.bfloat16)  # noqa: E731
    actual, opt = run_flarejax(make, params, 50, "init")
    expected = run_optax(optax.contrib.adopt(0.01, mu_dtype=jnp.bfloat16), params, 50)
    assert_trees_close(actual, expected)
    assert [m.dtype for m in opt.m.values()] == [jnp.bfloat16]
