import jax
import optax
from helpers import assert_trees_close, models, quadratic_grads

import flarejax as flr


def test_schedule_free_sgd_eval_params_match_optax():
    # Warm-up and weight decay on: the options the registry row leaves at their defaults.
    params = models()["nested"]
    kw = {"warmup_steps": 5, "weight_decay": 1e-3}
    tx = optax.inject_hyperparams(optax.contrib.schedule_free_sgd, static_args=("warmup_steps",))(
        0.01, **kw
    )
    state = tx.init(params)
    opt = flr.optim.ScheduleFreeSGD(0.01, **kw)
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
