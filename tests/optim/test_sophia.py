import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

C = {"w": jnp.array([0.5, 1.0, 2.0]), "b": jnp.array(3.0)}


def quadratic(model):
    """Its Hessian is diagonal, 2 c: z * (H z) = 2 c for any signs z."""
    return sum(jnp.sum(C[k] * (model[k] - 1.0) ** 2) for k in C)


def coupled(model):
    return quadratic(model) + jnp.sum(model["w"] * model["b"]) ** 2


def new_model():
    return {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array(0.1)}


def test_hessian_estimate_every_k_steps():
    """The estimate runs at steps 1, k + 1, 2k + 1, ...; the key advances only then."""
    k, b2 = 3, 0.9
    opt, model = flr.optim.Sophia(0.01, b2=b2, update_interval=k), new_model()
    h = np.zeros(3)
    for step in range(1, 8):
        key_before = jax.random.key_data(opt.key)
        model = opt(model, jax.grad(quadratic)(model), loss_fn=quadratic)
        estimated = (step - 1) % k == 0
        if estimated:
            h = b2 * h + (1 - b2) * 2 * np.asarray(C["w"], np.float64)
        np.testing.assert_allclose(opt.h["w"], h, rtol=1e-6)
        assert estimated != bool(jnp.array_equal(jax.random.key_data(opt.key), key_before))


@pytest.mark.parametrize("jit", [False, True])
def test_minimize_and_jit_match_optax_with_obj_fn(jit):
    """Random signs equal optax's for the same key; minimize passes its loss function."""
    opt = flr.optim.Sophia(0.05, update_interval=2, key=jax.random.PRNGKey(7))
    hutchinson = optax.contrib._sophia.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(7))
    tx = optax.contrib.sophia(0.05, update_interval=2, hessian_diagonal_fn=hutchinson)
    model = ref = new_model()
    state = tx.init(ref)

    @jax.jit
    def train_step(opt, model):
        grads = jax.grad(coupled)(model)
        return opt, opt(model, grads, loss_fn=coupled)

    if jit:
        opt.init(model)
    for _ in range(10):
        if jit:
            opt, model = train_step(opt, model)
        else:
            model, _ = opt.minimize(coupled, model)
        updates, state = tx.update(jax.grad(coupled)(ref), state, ref, obj_fn=coupled)
        ref = optax.apply_updates(ref, updates)
    for key in ref:
        np.testing.assert_allclose(model[key], ref[key], rtol=1e-5, atol=1e-6)


def test_obj_fn_is_accepted_and_the_loss_function_is_required():
    model = new_model()
    grads = jax.grad(quadratic)(model)
    a = flr.optim.Sophia(0.01)(model, grads, loss_fn=quadratic)
    b = flr.optim.Sophia(0.01)(model, grads, obj_fn=quadratic)
    np.testing.assert_array_equal(a["w"], b["w"])
    with pytest.raises(ValueError, match="needs the loss function"):
        flr.optim.Sophia(0.01)(model, grads)
