import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import SGD, Adam, IncrementalUpdate, PeriodicUpdate


def grads_at(t):
    return {"w": jnp.array([0.3, -0.1, 0.2]) * (t + 1), "b": jnp.array(0.5 - t)}


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize(
    ("make", "follow"),
    [
        (
            lambda: PeriodicUpdate(Adam(0.1), 3),
            lambda new, old, t: optax.periodic_update(new, old, t, 3),
        ),
        (
            lambda: IncrementalUpdate(Adam(0.1), 0.25),
            lambda new, old, t: optax.incremental_update(new, old, 0.25),
        ),
    ],
)
def test_the_copy_follows_optax_functions(make, follow, jit):
    params = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}
    opt = make()
    tx = optax.inject_hyperparams(optax.adam)(0.1)
    state, online, target = tx.init(params), params, params
    step = jax.jit(lambda o, p, g: (o, o(p, g))) if jit else lambda o, p, g: (o, o(p, g))
    if jit:
        opt.init(params)
    for t in range(7):
        opt, params = step(opt, params, grads_at(t))
        updates, state = tx.update(grads_at(t), state, online)
        online = optax.apply_updates(online, updates)
        target = follow(online, target, t + 1)
        for k in params:
            np.testing.assert_allclose(params[k], online[k], rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(opt.target[k], target[k], rtol=1e-5, atol=1e-7)
    copy = opt.target_params(params)
    np.testing.assert_allclose(copy["w"], target["w"], rtol=1e-5, atol=1e-7)


def test_target_params_keeps_what_has_no_copy():
    opt = PeriodicUpdate(SGD(0.1), 2)
    model = {"w": jnp.ones(2), "n": 3}
    assert opt.target_params(model)["n"] == 3


def test_invalid_arguments():
    with pytest.raises(ValueError, match=r"update_period must be an integer >= 1, got 0"):
        PeriodicUpdate(SGD(0.1), 0)
    with pytest.raises(ValueError, match=r"step_size must be in \[0, 1\], got 1.5"):
        IncrementalUpdate(SGD(0.1), 1.5)
