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
