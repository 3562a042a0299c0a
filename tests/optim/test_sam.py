import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

rng = np.random.default_rng(0)
X = jnp.asarray(rng.normal(size=(16, 3)), jnp.float32)
Y = jnp.asarray(rng.normal(size=16), jnp.float32)
RHO, LR = 0.05, 0.1


def loss_fn(model, x, y):
    return jnp.mean(jnp.tanh(x @ model["w"] + model["b"] - y) ** 2) + 0.1 * jnp.sum(model["w"] ** 4)


def new_model():
    return {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array(0.1)}


def paper_sam(opaque_mode):
    """SAM as the paper (and optax's docs) has it: a normalized SGD step up."""
    up = flr.optim.Chain(flr.optim.NormalizeByUpdateNorm(eps=0.0), flr.optim.SGD(RHO))
    return flr.optim.SAM(flr.optim.SGD(LR), up, opaque_mode=opaque_mode)


def optax_sam(opaque_mode):
    up = optax.chain(optax.contrib.normalize(), optax.sgd(RHO))
    return optax.contrib.sam(optax.sgd(LR), up, opaque_mode=opaque_mode)


def optax_run(opaque_mode, steps):
    """optax.contrib.sam driven as its docs drive it: grad_fn= in opaque mode, else one
    gradient per update, sync_period updates per SAM step."""
    tx = optax_sam(opaque_mode)
    params = new_model()
    state = tx.init(params)
    grad = jax.grad(loss_fn)
    grad_fn = jax.grad(lambda p, _: loss_fn(p, X, Y))
    for _ in range(steps):
        for _ in range(1 if opaque_mode else 2):
            updates, state = tx.update(grad(params, X, Y), state, params, grad_fn=grad_fn)
            params = optax.apply_updates(params, updates)
    return params


def close(model, ref):
    for key in ref:
        np.testing.assert_allclose(model[key], ref[key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opaque_mode", [True, False])
def test_minimize_takes_whole_sam_steps(opaque_mode):
    """Eagerly, minimize evaluates both gradients: one call is one SAM step."""
    opt, model = paper_sam(opaque_mode), new_model()
    first = loss_fn(model, X, Y)
    for i in range(8):
        model, loss = opt.minimize(loss_fn, model, X, Y)
        if i == 0:
            np.testing.assert_allclose(loss, first, rtol=1e-6)  # the loss at the model passed
    close(model, optax_run(opaque_mode, 8))
    assert int(opt.steps_since_sync) == 0
    assert loss_fn(model, X, Y) < first


def test_under_jit_with_loss_fn():
    """The docstring's jitted step: loss_fn= evaluates the gradient at the adversarial point."""
    opt, model = paper_sam(True), new_model()

    @jax.jit
    def train_step(opt, model, x, y):
        objective = lambda m: loss_fn(m, x, y)  # noqa: E731
        loss, grads = jax.value_and_grad(objective)(model)
        return opt, opt(model, grads, loss_fn=objective), loss

    opt.init(model)
    for _ in range(8):
        opt, model, _ = train_step(opt, model, X, Y)
    close(model, optax_run(True, 8))


def test_transparent_calls_alternate():
    """One gradient per call: the model is the adversarial point after odd calls."""
    opt, model = paper_sam(False), new_model()
    grads = jax.grad(loss_fn)(model, X, Y)
    up = opt(model, grads)
    g = np.asarray(jnp.concatenate([grads["w"], grads["b"][None]]), np.float64)
    np.testing.assert_allclose(
        up["w"], model["w"] + RHO * grads["w"] / np.linalg.norm(g), rtol=1e-6
    )
    np.testing.assert_allclose(opt.cache["w"], model["w"])  # the true parameters, kept
    down = opt(up, jax.grad(loss_fn)(up, X, Y))
    sharp = jax.grad(loss_fn)(up, X, Y)
    np.testing.assert_allclose(down["w"], model["w"] - LR * sharp["w"], rtol=1e-6)


def test_opaque_mode_needs_the_loss_function():
    opt, model = paper_sam(True), new_model()
    with pytest.raises(ValueError, match="needs loss_fn="):
        opt(model, jax.grad(loss_fn)(model, X, Y))
