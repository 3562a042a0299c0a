import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import (
    assert_trees_close,
    check_parity,
    f32,
    models,
    quadratic_grads,
    run_flarejax,
    run_optax,
)

import flarejax as flr

SF = optax.contrib.schedule_free_adamw


def test_schedule_free_adamw_matches_optax():
    check_parity(
        lambda: flr.optim.ScheduleFreeAdamW(0.01), f32(SF, 0.01), steps=50, model_names=("flat",)
    )


def test_schedule_free_adamw_options_match_optax():
    kw = {"warmup_steps": 10, "b1": 0.95, "b2": 0.99, "weight_decay": 0.01, "eps": 1e-6}
    # Static: inject_hyperparams would turn warmup_steps into an array.
    tx = optax.inject_hyperparams(SF, static_args=("warmup_steps",))(0.01, **kw)
    check_parity(
        lambda: flr.optim.ScheduleFreeAdamW(0.01, **kw),
        tx,
        steps=50,
        modes=("jit",),
        model_names=("nested",),
    )


def test_schedule_free_adamw_state_dtype_matches_optax():
    # Plain optax: its Python-float b1 keeps (1 - b1) * z in bfloat16 as
    # flarejax's weakly-typed b1 does (inject_hyperparams would promote it).
    kw = {"weight_lr_power": 1.0, "state_dtype": jnp.bfloat16}
    check_parity(
        lambda: flr.optim.ScheduleFreeAdamW(0.01, **kw),
        SF(0.01, **kw),
        steps=50,
        modes=("init",),
        model_names=("flat",),
    )
    opt = flr.optim.ScheduleFreeAdamW(0.01, **kw)
    opt.init(models()["flat"])
    assert all(z.dtype == jnp.bfloat16 for z in opt.z.values())


def test_schedule_free_adamw_schedule_matches_optax():
    # optax evaluates the averaging weight's learning rate at the 1-based step
    # and the base step's at the 0-based count; a schedule shows the difference.
    # Static: inject_hyperparams would evaluate the schedule itself, at its own count.
    sched = optax.linear_schedule(0.001, 0.02, 20)
    check_parity(
        lambda: flr.optim.ScheduleFreeAdamW(sched),
        optax.inject_hyperparams(SF, static_args=("learning_rate",))(sched),
        steps=40,
        modes=("eager",),
        model_names=("flat",),
    )


def test_schedule_free_eval_params_match_optax():
    params = models()["nested"]
    tx = optax.inject_hyperparams(SF, static_args=("warmup_steps",))(0.01, warmup_steps=5)
    state = tx.init(params)
    opt = flr.optim.ScheduleFreeAdamW(0.01, warmup_steps=5)
    opt.init(params)
    ref, ours = params, params
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    update = jax.jit(tx.update)
    for t in range(20):
        updates, state = update(quadratic_grads(ref, t), state, ref)
        ref = optax.apply_updates(ref, updates)
        opt, ours = step(opt, ours, quadratic_grads(ours, t))
        if t in (0, 19):
            assert_trees_close(
                opt.eval_params(ours),
                optax.contrib.schedule_free_eval_params(state.inner_state, ref),
            )
    assert_trees_close(ours, ref)


def test_schedule_free_eval_params_keeps_other_leaves():
    opt = flr.optim.ScheduleFreeAdamW(0.1)
    model = {"w": jnp.ones(3), "n": jnp.arange(3), "name": "layer", "frozen": jnp.ones(2)}
    grads = {"w": jnp.ones(3), "n": None, "name": None, "frozen": None}
    model = opt(opt(model, grads), grads)  # after one step, x = y = z
    out = opt.eval_params(model)
    assert out["name"] == "layer" and out["n"] is model["n"] and out["frozen"] is model["frozen"]
    assert out["w"].dtype == jnp.float32 and not jnp.allclose(out["w"], model["w"])


def test_schedule_free_adamw_bfloat16_keeps_dtype():
    # flarejax keeps the averaging scalars (sum of weights, max lr) in float32;
    # optax keeps them in the parameters' bfloat16, where the sum of weights
    # stops growing after a few hundred steps. Over 20 steps the two differ by a
    # few bfloat16 ulps (0.03 at 0.5), hence atol 5e-2.
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(SF(0.01), params, 20)
    actual, opt = run_flarejax(lambda: flr.optim.ScheduleFreeAdamW(0.01), params, 20, "jit")
    assert_trees_close(actual, expected, rtol=2e-2, atol=5e-2)
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(opt.eval_params(actual)))
    assert opt.z["w"].dtype == opt.v["w"].dtype == jnp.bfloat16


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0.1"),
        ({"b1": 0.0}, r"b1 must be in \(0, 1\], got 0.0"),
        ({"b1": 1.5}, r"b1 must be in \(0, 1\], got 1.5"),
        ({"b2": 1.0}, r"b2 must be in \[0, 1\), got 1.0"),
        ({"eps": -1.0}, r"eps must be >= 0"),
        ({"weight_decay": -1.0}, r"weight_decay must be >= 0"),
        ({"weight_lr_power": -2.0}, r"weight_lr_power must be >= 0"),
        ({"warmup_steps": 0}, r"warmup_steps must be None or an integer >= 1, got 0"),
        ({"warmup_steps": 2.5}, r"warmup_steps must be None or an integer >= 1, got 2.5"),
    ],
)
def test_schedule_free_adamw_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.ScheduleFreeAdamW(**kwargs)
