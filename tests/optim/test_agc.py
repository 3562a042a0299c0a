import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, run_flarejax, run_optax

from flarejax.optim import SGD, AdaptiveGradClip, Chain


def test_conv_kernels_and_explicit_axis_match_optax():
    r = np.random.default_rng(1)
    params = {
        "conv": jnp.asarray(r.normal(size=(3, 3, 2, 4)), jnp.float32),
        "w": jnp.asarray(r.normal(size=(6, 5)), jnp.float32),
    }
    for axis in (None, 1):
        kwargs = {} if axis is None else {"axis": axis}
        expected = run_optax(
            optax.chain(optax.adaptive_grad_clip(0.02, eps=0.1, **kwargs), optax.sgd(0.1)),
            params,
            50,
        )
        actual, _ = run_flarejax(
            lambda kw=kwargs: Chain(AdaptiveGradClip(0.02, eps=0.1, **kw), SGD(0.1)),
            params,
            50,
            "jit",
        )
        assert_trees_close(actual, expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clipping": 0.1, "eps": -0.001}, "eps must be >= 0, got -0\\.001"),
    ],
)
def test_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveGradClip(**kwargs)


def test_ratio_is_the_largest_unit_ratio_before_clipping() -> None:
    r = np.random.default_rng(2)
    params = {"w": r.normal(size=(6, 5)), "b": r.normal(size=5) * 0.01}
    grads = {"w": r.normal(size=(6, 5)) * 0.05, "b": r.normal(size=5)}
    opt = Chain(AdaptiveGradClip(0.1, eps=1e-3), SGD(0.1))
    opt({k: jnp.asarray(v, jnp.float32) for k, v in params.items()}, grads)
    # float64 NumPy: columns of the kernel are its units, the bias is one unit.
    w_ratio = np.linalg.norm(grads["w"], axis=0) / (
        0.1 * np.maximum(np.linalg.norm(params["w"], axis=0), 1e-3)
    )
    b_ratio = np.linalg.norm(grads["b"]) / (0.1 * max(np.linalg.norm(params["b"]), 1e-3))
    ratio = opt.opts[0].ratio
    np.testing.assert_allclose(float(ratio["w"]), w_ratio.max(), rtol=1e-5)
    np.testing.assert_allclose(float(ratio["b"]), b_ratio, rtol=1e-5)
    assert float(ratio["b"]) > 1  # the bias was clipped
