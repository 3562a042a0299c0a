import jax.numpy as jnp
import numpy as np
import optax
from helpers import check_parity, f32

from flarejax.optim import Adam, Centralize, Chain


def test_centralize_matches_optax():
    check_parity(
        lambda: Chain(Centralize(), Adam(0.01)),
        optax.chain(optax.centralize(), f32(optax.adam, 0.01)),
        model_names=("nested", "matrix"),
        modes=("jit",),
    )


def test_rows_have_zero_mean_and_vectors_pass():
    g = jnp.arange(12.0).reshape(3, 4) ** 2
    out = Centralize().call_param("w", g, param=g)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-5)
    v = jnp.arange(3.0)
    assert Centralize().call_param("b", v, param=v) is v
