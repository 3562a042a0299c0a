import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import (
    SGD,
    Chain,
    PerExampleGlobalNormClip,
    PerExampleLayerNormClip,
    Scale,
)

PARAMS = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
X = jnp.asarray(np.random.default_rng(0).normal(size=(5, 2)), jnp.float32)
Y = jnp.arange(5.0)


def per_example_grads(params):
    def loss(p, x, y):
        return (jnp.sum(x @ p["w"] + p["b"]) - y) ** 2

    return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, X, Y)


@pytest.mark.parametrize(
    ("make", "clip"),
    [
        (
            lambda: PerExampleGlobalNormClip(3.0),
            lambda g: optax.per_example_global_norm_clip(g, 3.0),
        ),
        (lambda: PerExampleLayerNormClip(3.0), lambda g: optax.per_example_layer_norm_clip(g, 3.0)),
        (
            lambda: PerExampleLayerNormClip(3.0, uniform=False),
            lambda g: optax.per_example_layer_norm_clip(g, 3.0, uniform=False),
        ),
    ],
)
def test_vmapped_gradients_as_optax_eager_and_jit(make, clip):
    grads = per_example_grads(PARAMS)
    summed, counts = clip(grads)
    expected = jax.tree.map(lambda p, s: p - 0.1 * s / 5, PARAMS, summed)
    eager = Chain(make(), Scale(1 / 5), SGD(0.1))
    out = eager(PARAMS, grads)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), out, expected)
    np.testing.assert_array_equal(
        jax.tree.leaves(eager.opts[0].num_clipped), jax.tree.leaves(counts)
    )
    assert sum(int(n) for n in jax.tree.leaves(counts)) > 0  # the case clips something

    opt = Chain(make(), Scale(1 / 5), SGD(0.1))
    opt.init(PARAMS)
    opt, out = jax.jit(lambda o, p, g: (o, o(p, g)))(opt, PARAMS, grads)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), out, expected)
    np.testing.assert_array_equal(jax.tree.leaves(opt.opts[0].num_clipped), jax.tree.leaves(counts))


def test_gradients_without_a_batch_axis_are_an_error():
    with pytest.raises(ValueError, match=r"per-example gradient for 'b' has shape \(3,\)"):
        PerExampleGlobalNormClip(1.0)(PARAMS, PARAMS)


def test_after_another_member_the_batch_axis_is_missing():
    opt = Chain(Scale(1.0), PerExampleLayerNormClip(1.0))
    with pytest.raises(ValueError, match=r"PerExampleLayerNormClip takes per-example gradients"):
        opt(PARAMS, PARAMS)
