import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import SGD, Chain, ClipByGlobalNorm, MeasureWithEMA, Monitor, Snapshot


def norm_above_one(updates):
    return optax.tree.norm(updates) > 1.0


def grads_at(t):
    return {"w": jnp.array([0.3, -0.1, 0.2]) * (t + 1), "b": jnp.array(0.5 - t)}


@pytest.mark.parametrize("jit", [False, True])
def test_measurements_as_optax_state(jit):
    params = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array(0.3)}
    opt = Chain(
        SGD(1.0, momentum=0.9),
        Snapshot("before_clip", optax.tree.norm),
        Monitor({"norm": optax.tree.norm, "clipped": MeasureWithEMA(norm_above_one, 0.8)}),
        ClipByGlobalNorm(1.0),
        SGD(0.1),
    )
    tx = optax.chain(
        optax.trace(0.9),
        optax.snapshot("before_clip", optax.tree.norm),
        optax.monitor(
            {"norm": optax.tree.norm, "clipped": optax.measure_with_ema(norm_above_one, 0.8)}
        ),
        optax.clip_by_global_norm(1.0),
        optax.sgd(0.1),
    )
    state, expected = tx.init(params), params
    step = jax.jit(lambda o, p, g: (o, o(p, g))) if jit else lambda o, p, g: (o, o(p, g))
    if jit:
        opt.init(params)
    clipped = []
    for t in range(5):
        opt, params = step(opt, params, grads_at(t))
        updates, state = tx.update(grads_at(t), state, expected)
        expected = optax.apply_updates(expected, updates)
        snap, mon = opt.opts[1].measurements, opt.opts[2].measurements
        np.testing.assert_allclose(
            snap["before_clip"], optax.tree.get(state, "before_clip"), rtol=1e-6
        )
        np.testing.assert_allclose(mon["norm"], optax.tree.get(state, "norm"), rtol=1e-6)
        np.testing.assert_allclose(mon["clipped"], optax.tree.get(state, "clipped"), rtol=1e-6)
        clipped.append(float(mon["clipped"]))
    assert 0 < clipped[-1] < 1  # a fraction: some steps clipped, some not
    np.testing.assert_allclose(params["w"], expected["w"], rtol=1e-6)


def test_measure_with_ema_alone_without_debias():
    opt = Chain(MeasureWithEMA(lambda u: u["w"][0], 0.5, debias=False), SGD(0.0))
    params = {"w": jnp.zeros(2)}
    for x in (4.0, 8.0):
        params = opt(params, {"w": jnp.array([x, 0.0])})
    assert float(opt.opts[0].measurements["ema"]) == 0.5 * (0.5 * 4.0) + 0.5 * 8.0


def test_invalid_measures():
    with pytest.raises(TypeError, match=r"measure must be a function of the updates"):
        Snapshot("x", 3.0)
    with pytest.raises(TypeError, match=r"measures\['a'\] is a SGD, which keeps no measurements"):
        Monitor({"a": SGD(0.1)})
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\), got 1.0"):
        MeasureWithEMA(optax.tree.norm, 1.0)
