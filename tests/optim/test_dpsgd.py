import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

rng = np.random.default_rng(0)
X = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
Y = jnp.asarray(rng.normal(size=8), jnp.float32)


def loss_one(model, x, y):
    return (model["w"] @ x + model["b"] - y) ** 2


per_example = jax.jit(jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0)))


def new_model():
    return {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array(0.1)}


def optax_dpsgd(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # optax renames its seed
        return optax.contrib.dpsgd(*args, **kwargs)


@pytest.mark.parametrize(("jit", "nesterov"), [(False, False), (True, True)])
def test_vmapped_per_example_gradients_match_optax(jit, nesterov):
    """The docstring's pattern, eagerly and under jit: optax's noise for the same seed."""
    opt = flr.optim.DPSGD(0.1, 1.0, 0.5, seed=3, momentum=0.9, nesterov=nesterov)
    tx = optax_dpsgd(0.1, 1.0, 0.5, seed=3, momentum=0.9, nesterov=nesterov)

    def step(opt, model):
        return opt, opt(model, per_example(model, X, Y))

    if jit:
        opt.init(new_model())
        step = jax.jit(step)
    model = ref = new_model()
    state = tx.init(ref)
    for _ in range(10):
        opt, model = step(opt, model)
        updates, state = tx.update(per_example(ref, X, Y), state, ref)
        ref = optax.apply_updates(ref, updates)
    for key in ref:
        np.testing.assert_allclose(model[key], ref[key], rtol=1e-5, atol=1e-6)
    assert int(opt.t) == 10


def test_gradients_without_a_batch_axis_are_an_error_naming_the_parameter():
    opt = flr.optim.DPSGD(0.1, 1.0, 0.5, seed=0)
    grads = jax.grad(lambda m: jnp.mean(jax.vmap(loss_one, (None, 0, 0))(m, X, Y)))(new_model())
    with pytest.raises(ValueError, match=r"gradient for 'b' has shape \(\), expected \(batch"):
        opt(new_model(), grads)
    with pytest.raises(ValueError, match=r"'w' has shape \(3,\), expected \(batch"):
        opt(new_model(), {"w": grads["w"], "b": None})
    with pytest.raises(ValueError, match="per-example gradient"):
        opt.minimize(lambda m: jnp.mean(jax.vmap(loss_one, (None, 0, 0))(m, X, Y)), new_model())


def test_batch_sizes_must_agree():
    opt = flr.optim.DPSGD(0.1, 1.0, 0.5, seed=0)
    grads = per_example(new_model(), X, Y)
    grads["b"] = grads["b"][:5]
    with pytest.raises(ValueError, match=r"share one batch size, got sizes \[5, 8\]"):
        opt(new_model(), grads)


def test_clipping_and_noise_without_randomness():
    """noise_multiplier=0: the mean of the clipped per-example gradients, in float64 NumPy."""
    opt = flr.optim.DPSGD(1.0, l2_norm_clip=0.5, noise_multiplier=0.0, seed=0)
    model = new_model()
    g = per_example(model, X, Y)
    new = opt(model, g)
    gw, gb = np.asarray(g["w"], np.float64), np.asarray(g["b"], np.float64)
    norms = np.sqrt((gw**2).sum(1) + gb**2)
    scale = np.minimum(1.0, 0.5 / norms)
    np.testing.assert_allclose(new["w"], model["w"] - (scale[:, None] * gw).mean(0), rtol=1e-5)
    np.testing.assert_allclose(new["b"], model["b"] - (scale * gb).mean(0), rtol=1e-5)


def test_first_in_a_chain():
    """In a Chain, the per-example gradients reach DPSGD first; what follows sees their mean."""
    chain = flr.optim.Chain(flr.optim.DPSGD(1.0, 1.0, 0.5, seed=4), flr.optim.ClipByGlobalNorm(0.1))
    tx = optax.chain(optax_dpsgd(1.0, 1.0, 0.5, seed=4), optax.clip_by_global_norm(0.1))
    model = ref = new_model()
    state = tx.init(ref)
    for _ in range(3):
        model = chain(model, per_example(model, X, Y))
        updates, state = tx.update(per_example(ref, X, Y), state, ref)
        ref = optax.apply_updates(ref, updates)
    for key in ref:
        np.testing.assert_allclose(model[key], ref[key], rtol=1e-5, atol=1e-6)
