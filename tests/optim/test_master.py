"""MasterWeights: bfloat16 training that does not stall on rounding."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import flarejax as flr


def _problem():
    r = np.random.default_rng(0)
    x = r.normal(size=(256, 16))
    w_true = r.normal(size=(16,))
    y = x @ w_true + 0.01 * r.normal(size=256)
    return x, y


def _train(make_opt, dtype, steps=400):
    x, y = _problem()
    xs, ys = jnp.asarray(x, dtype), jnp.asarray(y, dtype)

    def loss_fn(m):
        pred = xs @ m["w"]
        return jnp.mean((pred.astype(jnp.float32) - ys.astype(jnp.float32)) ** 2)

    model = {"w": jnp.zeros(16, dtype)}
    opt = make_opt()
    step = jax.jit(lambda o, m: (o, *o.minimize(loss_fn, m)))
    for _ in range(steps):
        opt, model, _loss = step(opt, model)
    return model, float(loss_fn(model)), opt


def _float64_loss(w):
    x, y = _problem()
    return float(np.mean((x @ np.asarray(w, np.float64) - y) ** 2))


def test_bf16_with_float32_master_reaches_float32_loss():
    def make():
        return flr.optim.MasterWeights(flr.optim.Adam(1e-2))

    w32, _, _ = _train(lambda: flr.optim.Adam(1e-2), jnp.float32)
    w16, _, opt = _train(make, jnp.bfloat16)
    assert w16["w"].dtype == jnp.bfloat16
    assert opt.master["w"].dtype == jnp.float32 and opt.opt.v["w"].dtype == jnp.float32
    loss32 = _float64_loss(w32["w"])
    master_loss = _float64_loss(opt.master["w"])
    # The master copy trains as float32 does; the bf16 model is its rounding.
    assert abs(master_loss - loss32) < 1e-3 + 0.05 * loss32
    rounded = jnp.asarray(opt.master["w"], jnp.bfloat16)
    np.testing.assert_array_equal(np.asarray(rounded, np.float32), np.asarray(w16["w"], np.float32))


def test_update_of_a_bf16_parameter_stays_bf16_without_master():
    opt = flr.optim.Adam(1e-3)
    out = opt({"w": jnp.ones(4, jnp.bfloat16)}, {"w": jnp.full(4, 0.5, jnp.bfloat16)})
    assert out["w"].dtype == jnp.bfloat16 and opt.m["w"].dtype == jnp.bfloat16


def test_master_weights_init_then_jit_compiles_once():
    model = {"w": jnp.ones((3, 2), jnp.bfloat16), "b": jnp.zeros(2, jnp.bfloat16)}
    grads = jax.tree_util.tree_map(lambda p: jnp.full_like(p, 0.1), model)
    traces = []

    @jax.jit
    def step(opt, model):
        traces.append(1)
        return opt, opt(model, grads)

    opt = flr.optim.MasterWeights(flr.optim.AdamW(1e-2))
    opt.init(model)
    np.testing.assert_array_equal(opt.master["w"], np.ones((3, 2), np.float32))
    for _ in range(3):
        opt, model = step(opt, model)
    assert len(traces) == 1
