import jax.numpy as jnp
import numpy as np

from flarejax.optim import Centralize


def test_rows_have_zero_mean_and_vectors_pass():
    g = jnp.arange(12.0).reshape(3, 4) ** 2
    out = Centralize().call_param("w", g, param=g)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-5)
    v = jnp.arange(3.0)
    assert Centralize().call_param("b", v, param=v) is v
