import jax.numpy as jnp
import numpy as np

from flarejax.optim import SGD, Chain, ScaleByParamBlockNorm, ScaleByParamBlockRMS


def test_one_step_in_float64_numpy():
    w = np.array([[1.0, -2.0, 0.5], [0.5, 3.0, -1.0]])
    g = np.array([[0.1, 0.2, 0.0], [-0.3, 0.4, 1.0]])
    params, grads = {"w": jnp.asarray(w, jnp.float32)}, {"w": jnp.asarray(g, jnp.float32)}
    by_norm = Chain(ScaleByParamBlockNorm(), SGD(1.0))(params, grads)
    np.testing.assert_allclose(np.asarray(by_norm["w"]), w - np.linalg.norm(w) * g, rtol=1e-6)
    by_rms = Chain(ScaleByParamBlockRMS(), SGD(1.0))(params, grads)
    rms = np.sqrt(np.mean(w**2))
    np.testing.assert_allclose(np.asarray(by_rms["w"]), w - rms * g, rtol=1e-6)


def test_min_scale_moves_zero_parameters():
    params, grads = {"b": jnp.zeros(4)}, {"b": jnp.ones(4)}
    for cls in (ScaleByParamBlockNorm, ScaleByParamBlockRMS):
        out = Chain(cls(min_scale=0.25), SGD(1.0))(params, grads)
        np.testing.assert_array_equal(np.asarray(out["b"]), np.full(4, -0.25))
