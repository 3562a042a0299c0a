"""StochasticRounding: bfloat16 parameters that follow updates below their precision."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr
from flarejax.optim._wrappers._stochastic_rounding import stochastic_round

O = flr.optim


def _sgd_steps(opt, n=1000, size=1000):
    """``n`` jitted SGD steps of a unit gradient on bfloat16 ones, as one fori_loop."""
    model = {"w": jnp.ones((size,), jnp.bfloat16)}
    grads = {"w": jnp.ones((size,), jnp.bfloat16)}
    opt.init(model)

    @jax.jit
    def run(opt, model):
        return jax.lax.fori_loop(0, n, lambda _, c: (c[0], c[0](c[1], grads)), (opt, model))

    return run(opt, model)


def test_small_updates_move_bfloat16_weights_on_average():
    """1000 steps of 1e-4 from 1: nearest rounding stays at 1, stochastic reaches 0.9."""
    _, nearest = _sgd_steps(O.SGD(1e-4))
    _, rounded = _sgd_steps(O.StochasticRounding(O.SGD(1e-4), key=3))
    np.testing.assert_array_equal(nearest["w"], 1.0)  # 1 - 1e-4 rounds to 1 in bfloat16
    assert rounded["w"].dtype == jnp.bfloat16
    assert abs(float(jnp.mean(rounded["w"].astype(jnp.float32))) - 0.9) < 0.02


def test_stochastic_round_is_exact_in_expectation():
    x = jnp.asarray([1 + 1e-3, -3.01, 1e-30, 7e4], jnp.float32)
    keys = jax.random.split(jax.random.key(0), 4000)
    samples = jax.vmap(lambda k: stochastic_round(x, jnp.bfloat16, k))(keys)
    assert samples.dtype == jnp.bfloat16
    wide = samples.astype(jnp.float32)
    for i in range(x.shape[0]):
        values = np.unique(np.asarray(wide[:, i]))
        assert len(values) == 2 and values[0] <= x[i] <= values[1]  # the two neighbours
        spacing = values[1] - values[0]
        # Bernoulli mean: standard error spacing / (2 sqrt(4000)); 5 of them.
        assert abs(float(jnp.mean(wide[:, i])) - float(x[i])) < 5 * spacing / (2 * 4000**0.5)


@pytest.mark.parametrize("value", [1.0, -0.5, 0.0, np.inf, -np.inf, np.nan])
def test_stochastic_round_keeps_representable_values(value):
    x = jnp.full((64,), value, jnp.float32)
    out = stochastic_round(x, jnp.bfloat16, jax.random.key(0))
    np.testing.assert_array_equal(out.astype(jnp.float32), x)


def test_float32_parameters_are_the_wrapped_optimizer_exactly():
    params = {"w": jnp.linspace(-1.0, 1.0, 7), "b": jnp.zeros(())}
    grads = {"w": jnp.linspace(0.3, -0.2, 7), "b": jnp.ones(())}
    plain, wrapped = O.Adam(0.01), O.StochasticRounding(O.Adam(0.01))
    key = jax.random.key_data(wrapped.key)
    a, b = params, params
    for _ in range(3):
        a, b = plain(a, grads), wrapped(b, grads)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    np.testing.assert_array_equal(jax.random.key_data(wrapped.key), key)  # no draw


def test_eager_and_jit_round_alike_and_the_key_advances():
    model = {"w": jnp.linspace(0.5, 2.0, 16).astype(jnp.bfloat16)}
    grads = {"w": jnp.full((16,), 0.3, jnp.bfloat16)}
    eager, jitted = O.StochasticRounding(O.Adam(1e-3)), O.StochasticRounding(O.Adam(1e-3))
    step = jax.jit(lambda o, m: (o, o(m, grads)))
    a, b = model, model
    for _ in range(3):
        a = eager(a, grads)
        jitted, b = step(jitted, b)
    np.testing.assert_array_equal(a["w"], b["w"])
    assert a["w"].dtype == jnp.bfloat16
    start = jax.random.key_data(O.StochasticRounding(O.SGD(1.0)).key)
    assert not np.array_equal(jax.random.key_data(eager.key), start)


def test_update_lands_on_the_rounded_value():
    """The base subtracts the returned update in bfloat16: the result is the rounded value."""
    opt = O.StochasticRounding(O.SGD(1.0), key=7)
    p = jnp.asarray([1.0, 100.0, -3.0, 0.25], jnp.bfloat16)
    g = jnp.asarray([1e-3, 0.1, -1e-2, 1e-4], jnp.bfloat16)
    new = opt({"w": p}, {"w": g})["w"]
    ref = stochastic_round(
        p.astype(jnp.float32) - g.astype(jnp.float32),
        jnp.bfloat16,
        jax.random.split(jax.random.split(jax.random.key(7))[1], 1)[0],
    )
    np.testing.assert_array_equal(new, ref)
