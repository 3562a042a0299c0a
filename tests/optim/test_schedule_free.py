import jax
import jax.numpy as jnp
import optax
from helpers import (
    assert_trees_close,
    check_parity,
    models,
    quadratic_grads,
    run_flarejax,
    run_optax,
)

import flarejax as flr

SF = optax.contrib.schedule_free_adamw


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
