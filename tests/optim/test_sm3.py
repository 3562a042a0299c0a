import jax
import jax.numpy as jnp
import numpy as np
import optax
from helpers import assert_trees_close, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_sm3_options_match_optax():
    params = {"w": jnp.asarray(np.random.default_rng(1).normal(size=(3, 4, 5)), jnp.float32)}
    expected = run_optax(f32(optax.sm3, 0.3, momentum=0.5), params, 50)
    actual, _ = run_flarejax(lambda: flr.optim.SM3(0.3, momentum=0.5), params, 50, "eager")
    assert_trees_close(actual, expected)


def test_sm3_scalar_is_like_a_one_element_vector():
    scalar, vector = {"s": jnp.asarray(0.7)}, {"s": jnp.asarray([0.7])}
    expected = run_optax(f32(optax.sm3, 0.1), vector, 20)
    actual, _ = run_flarejax(lambda: flr.optim.SM3(0.1), scalar, 20)
    assert actual["s"].shape == ()
    np.testing.assert_allclose(actual["s"], expected["s"][0], rtol=1e-6)


def test_sm3_state_is_one_vector_per_axis():
    opt = flr.optim.SM3(0.1)
    opt.init({"w": jnp.zeros((30, 40))})
    assert [a.shape for a in opt.accumulators["w"]] == [(30,), (40,)]


def test_sm3_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.sm3(0.1), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.SM3(0.1), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
