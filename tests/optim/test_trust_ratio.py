import jax.numpy as jnp
import numpy as np
import optax
from helpers import check_parity

from flarejax.optim import SGD, Chain, ScaleByTrustRatio


def test_min_norm_floors_both_norms_as_optax():
    check_parity(
        lambda: Chain(ScaleByTrustRatio(min_norm=1.0, trust_coefficient=0.1), SGD(1e-2)),
        optax.chain(
            optax.scale_by_trust_ratio(min_norm=1.0, trust_coefficient=0.1), optax.sgd(1e-2)
        ),
        steps=5,
        model_names=("nested",),
        modes=("eager", "jit"),
    )


def test_one_step_in_float64_numpy():
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    g = np.array([[0.1, 0.2], [-0.3, 0.4]])
    expected = 0.5 * np.linalg.norm(w) / (np.linalg.norm(g) + 1e-2) * g
    opt = Chain(ScaleByTrustRatio(trust_coefficient=0.5, eps=1e-2), SGD(1.0))
    out = opt({"w": jnp.asarray(w, jnp.float32)}, {"w": jnp.asarray(g, jnp.float32)})
    np.testing.assert_allclose(np.asarray(out["w"]), w - expected, rtol=1e-6)


def test_a_zero_parameter_keeps_its_update():
    """A zero norm gives no trust signal: the ratio is 1, not 0."""
    opt = Chain(ScaleByTrustRatio(), SGD(1.0))
    out = opt({"b": jnp.zeros(3)}, {"b": jnp.array([1.0, 2.0, 3.0])})
    np.testing.assert_array_equal(np.asarray(out["b"]), [-1.0, -2.0, -3.0])
