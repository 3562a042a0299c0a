import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import Adam, microbatch

rng = np.random.default_rng(0)
X = jnp.asarray(rng.normal(size=(12, 3)), jnp.float32)
Y = jnp.asarray(rng.normal(size=(12,)), jnp.float32)
PARAMS = {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array(0.1)}
MODEL = {**PARAMS, "n_layers": 2}  # with a leaf that is no parameter


def loss_fn(model, x, y):
    pred = jnp.tanh(x @ model["w"]) * model.get("n_layers", 2) + model["b"]
    return jnp.mean((pred - y) ** 2)


def test_loss_and_gradient_equal_the_full_batch():
    value, grads = jax.value_and_grad(microbatch(loss_fn, 4, argnums=(1, 2)))(PARAMS, X, Y)
    full_value, full_grads = jax.value_and_grad(loss_fn)(PARAMS, X, Y)
    np.testing.assert_allclose(value, full_value, rtol=1e-6)
    for k in ("w", "b"):
        np.testing.assert_allclose(grads[k], full_grads[k], rtol=1e-5, atol=1e-7)


def test_minimize_steps_as_on_the_full_batch_eager_and_jit():
    """Three Adam steps on microbatches of 3 equal optax.adam on the full batch's gradient."""
    tx = optax.adam(0.1)
    params = PARAMS
    state = tx.init(params)
    for _ in range(3):
        g = jax.grad(loss_fn)(params, X, Y)
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    micro = microbatch(loss_fn, 3, argnums=(1, 2))
    for jit in (False, True):
        opt, model = Adam(0.1), MODEL
        step = lambda o, m: (o, *o.minimize(micro, m, X, Y))  # noqa: E731
        if jit:
            opt.init(model)
            step = jax.jit(step)
        for _ in range(3):
            opt, model, _ = step(opt, model)
        for k in ("w", "b"):
            np.testing.assert_allclose(model[k], params[k], rtol=1e-5, atol=1e-6)
        assert model["n_layers"] == 2


def test_aux_comes_back_one_row_per_microbatch():
    def with_aux(model, x):
        return jnp.mean(x @ model["w"]), jnp.sum(x, axis=0)

    (_, aux), _ = jax.value_and_grad(microbatch(with_aux, 4, has_aux=True), has_aux=True)(PARAMS, X)
    assert aux.shape == (3, 3)
    # Microbatch i holds rows i, i + 3, i + 6, i + 9 (column-major, as optax).
    np.testing.assert_allclose(aux[1], X[1::3].sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(aux.sum(axis=0), X.sum(axis=0), rtol=1e-5)


def test_invalid_arguments():
    with pytest.raises(
        ValueError, match=r"microbatch_size \(5\) must divide the batch size \(12\)"
    ):
        microbatch(loss_fn, 5, argnums=(1, 2))(MODEL, X, Y)
    with pytest.raises(ValueError, match=r"argnums must be the positions of the batch arguments"):
        microbatch(loss_fn, 4, argnums=0)
    with pytest.raises(ValueError, match=r"microbatch_size must be an integer >= 1, got 0"):
        microbatch(loss_fn, 0)
    with pytest.raises(ValueError, match=r"must share one batch size, got \[6, 12\]"):
        microbatch(loss_fn, 2, argnums=(1, 2))(MODEL, X, Y[:6])


def test_a_new_microbatch_each_step_compiles_once():
    traces = []

    def counted(model, x, y):
        traces.append(None)
        return loss_fn(model, x, y)

    opt, model = Adam(0.1), PARAMS
    opt.init(model)  # else the first step builds the state, and the second compiles again
    model, _ = opt.minimize(microbatch(counted, 6, argnums=(1, 2)), model, X, Y)
    first = len(traces)
    for _ in range(2):
        model, _ = opt.minimize(microbatch(counted, 6, argnums=(1, 2)), model, X, Y)
    assert len(traces) == first
