import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr


def test_noisy_sgd_key_forms():
    raw = jax.random.PRNGKey(5)  # a legacy uint32[2] key
    for key in (5, np.int64(5), jax.random.key(5), raw):
        opt = flr.optim.NoisySGD(0.1, key=key)
        assert jnp.array_equal(jax.random.key_data(opt.key), jax.random.key_data(jax.random.key(5)))
    assert jnp.array_equal(
        jax.random.key_data(flr.optim.NoisySGD(0.1).key), jax.random.key_data(jax.random.key(0))
    )
