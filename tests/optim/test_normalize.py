import jax.numpy as jnp
import numpy as np
import optax
from helpers import check_parity

from flarejax.optim import SGD, Chain, NormalizeByUpdateNorm


def test_scale_factor_as_optax():
    check_parity(
        lambda: Chain(NormalizeByUpdateNorm(scale_factor=2.0, eps=1e-3), SGD(1e-2)),
        optax.chain(optax.normalize_by_update_norm(2.0, 1e-3), optax.sgd(1e-2)),
        steps=5,
        model_names=("nested",),
        modes=("eager", "jit"),
    )


def test_the_updates_have_global_norm_scale_factor():
    grads = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([[0.0, 4.0]])}
    params = {k: jnp.zeros_like(g) for k, g in grads.items()}
    out = Chain(NormalizeByUpdateNorm(scale_factor=2.0, eps=0.0), SGD(1.0))(params, grads)
    np.testing.assert_allclose(np.asarray(out["a"]), [-1.2, 0.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(out["b"]), [[0.0, -1.6]], rtol=1e-6)


def test_a_zero_gradient_stays_zero():
    out = Chain(NormalizeByUpdateNorm(), SGD(1.0))({"a": jnp.ones(2)}, {"a": jnp.zeros(2)})
    np.testing.assert_array_equal(np.asarray(out["a"]), [1.0, 1.0])
