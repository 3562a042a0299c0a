import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, f32, models, quadratic_grads, run_flarejax

from flarejax.optim import EMA, SGD, Adam


def _optax_params_and_ema(tx, decay, debias, params, steps):
    ema = optax.ema(decay, debias)
    state, ema_state = tx.init(params), ema.init(params)

    @jax.jit
    def step_fn(g, state, ema_state, params):
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
        averaged, ema_state = ema.update(params, ema_state)
        return state, ema_state, params, averaged

    for step in range(steps):
        state, ema_state, params, averaged = step_fn(
            quadratic_grads(params, step), state, ema_state, params
        )
    return params, averaged


@pytest.mark.parametrize("debias", [True, False])
def test_ema_matches_optax_ema_of_the_params(debias):
    params = models()["nested"]
    expected, expected_avg = _optax_params_and_ema(f32(optax.adam, 0.02), 0.9, debias, params, 50)
    modes = ("eager", "jit", "init") if debias else ("jit",)
    for mode in modes:
        actual, opt = run_flarejax(lambda: EMA(Adam(0.02), 0.9, debias), params, 50, mode)
        assert_trees_close(actual, expected)  # training is plain Adam
        assert_trees_close(opt.ema_params(actual), expected_avg)


def test_ema_matches_float64_numpy():
    params = models()["flat"]
    opt = EMA(SGD(0.1), 0.8)
    avg = {k: np.zeros(np.shape(v)) for k, v in params.items()}
    for t in range(1, 11):
        g = quadratic_grads(params, t)
        params = opt(params, g)
        for k in avg:
            avg[k] = 0.8 * avg[k] + 0.2 * np.asarray(params[k], np.float64)
    out = opt.ema_params(params)
    for k in avg:
        np.testing.assert_allclose(out[k], avg[k] / (1 - 0.8**10), rtol=1e-5)


def test_ema_params_keeps_dtype_and_non_params():
    params = {"w": jnp.ones(3, jnp.bfloat16), "step": jnp.asarray(3)}
    opt = EMA(SGD(0.1), 0.5)
    assert opt.ema_params(params)["w"] is params["w"]  # no average before the first step
    params = opt(params, {"w": jnp.ones(3, jnp.bfloat16), "step": None})
    out = jax.jit(lambda o, p: o.ema_params(p))(opt, params)
    assert out["w"].dtype == jnp.bfloat16 and int(out["step"]) == 3
    np.testing.assert_allclose(np.asarray(out["w"], np.float32), 0.9, rtol=1e-2)


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_invalid_decay(decay):
    with pytest.raises(ValueError, match=rf"decay must be in \[0, 1\), got {decay}"):
        EMA(SGD(0.1), decay)
