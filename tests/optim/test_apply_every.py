import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flarejax.optim import SGD, ApplyEvery, Chain


def test_sums_k_gradients_and_emits_them_at_the_kth_call():
    opt = Chain(ApplyEvery(3), SGD(1.0))
    params = {"w": jnp.zeros(2)}
    seen = []
    opt.init(params)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    for t in range(7):
        before = params
        opt, params = step(opt, params, {"w": jnp.array([t, 1.0])})
        seen.append(np.asarray(before["w"] - params["w"]))
    # calls 0,1,2 -> (0+1+2, 3); calls 3,4,5 -> (3+4+5, 3); call 6 accumulates.
    expected = [[0, 0], [0, 0], [3, 3], [0, 0], [0, 0], [12, 3], [0, 0]]
    np.testing.assert_allclose(np.array(seen), expected)


def test_k_must_be_a_positive_integer():
    with pytest.raises(ValueError, match=r"k must be an integer >= 1, got 0"):
        ApplyEvery(0)
    with pytest.raises(TypeError, match=r"k must be an integer step count"):
        ApplyEvery(2.5)
