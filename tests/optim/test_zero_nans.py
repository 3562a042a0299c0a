import jax
import jax.numpy as jnp
import numpy as np
import optax
from helpers import assert_trees_close, f32, models, quadratic_grads, run_flarejax, run_optax

from flarejax.optim import Adam, Chain, ZeroNans


def _nan_grads(params, step):
    g = quadratic_grads(params, step)
    if step % 7 == 0:
        g["w"] = g["w"].at[0, 1].set(jnp.nan)
    return g


def test_zero_nans_matches_optax():
    params = models()["flat"]
    expected = run_optax(
        optax.chain(optax.zero_nans(), f32(optax.adam, 0.01)), params, 50, grads_fn=_nan_grads
    )
    for mode in ("eager", "init"):
        actual, opt = run_flarejax(
            lambda: Chain(ZeroNans(), Adam(0.01)), params, 50, mode, grads_fn=_nan_grads
        )
        assert_trees_close(actual, expected)
        assert np.all(np.isfinite(jax.tree.leaves(actual)[0]))
    found = opt.opts[0].found_nan
    assert bool(found["w"]) is True  # step 49 = 7 * 7
    assert bool(found["b"]) is False
