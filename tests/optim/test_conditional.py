import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import SGD, Adam, ConditionallyMask, ConditionallyTransform


def loss_below(step, loss):
    """Step only while the loss is below 1 (a condition of the step's extras)."""
    del step
    return loss < 1.0


def test_forward_extra_args_as_optax():
    params = {"w": jnp.array([1.0, -2.0, 0.5])}
    opt = ConditionallyMask(Adam(0.1), loss_below, forward_extra_args=True)
    tx = optax.conditionally_mask(optax.adam(0.1), loss_below, forward_extra_args=True)
    state, expected = tx.init(params), params
    step = jax.jit(lambda o, p, g, loss: (o, o(p, g, loss=loss)))
    for t, loss in enumerate([0.5, 2.0, 0.2, 3.0, 0.1]):
        grads = {"w": jnp.array([0.3, -0.1, 0.2]) * (t + 1)}
        opt, params = step(opt, params, grads, jnp.float32(loss))
        updates, state = tx.update(grads, state, expected, loss=jnp.float32(loss))
        expected = optax.apply_updates(expected, updates)
        np.testing.assert_allclose(params["w"], expected["w"], rtol=1e-5)
    assert int(opt.step) == 5 and int(opt.opt.t) == 3  # Adam stepped at 3 of 5 calls


def test_masked_steps_leave_the_inner_state_alone():
    opt = ConditionallyMask(SGD(0.1, momentum=0.9), lambda t: t == 0)
    params = {"w": jnp.ones(2)}
    params = opt(params, {"w": jnp.ones(2)})
    trace = np.asarray(opt.opt.trace["w"])
    after = opt(params, {"w": jnp.full(2, 5.0)})
    np.testing.assert_array_equal(np.asarray(after["w"]), np.asarray(params["w"]))
    np.testing.assert_array_equal(np.asarray(opt.opt.trace["w"]), trace)


def test_transform_passes_the_gradient_at_other_steps():
    opt = ConditionallyTransform(SGD(0.1), lambda t: t >= 1)
    out = opt({"w": jnp.zeros(2)}, {"w": jnp.array([1.0, 2.0])})  # step 0: raw gradient
    np.testing.assert_allclose(np.asarray(out["w"]), [-1.0, -2.0])
    out = opt(out, {"w": jnp.array([1.0, 2.0])})  # step 1: SGD(0.1)
    np.testing.assert_allclose(np.asarray(out["w"]), [-1.1, -2.2], rtol=1e-6)


@pytest.mark.parametrize("cls", [ConditionallyMask, ConditionallyTransform])
def test_the_condition_must_be_a_function(cls):
    with pytest.raises(TypeError, match=r"should_transform_fn must be a function"):
        cls(SGD(0.1), True)
