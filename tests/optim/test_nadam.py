import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_nadam_hyperparameters_schedule_and_mu_dtype_match_optax():
    # Dyadic b1, b2: plain optax's float64 constants equal float32 ones, so plain
    # optax is the reference. (The float32-injected one would compute b1 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.)
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.5, "b2": 0.75, "eps": 1e-6, "eps_root": 1e-8, "mu_dtype": jnp.bfloat16}
    params = models()["matrix"]
    actual, opt = run_flarejax(lambda: flr.optim.NAdam(sched, **kwargs), params, 50, "init")
    assert_trees_close(actual, run_optax(optax.nadam(sched, **kwargs), params, 50))
    assert [m.dtype for m in opt.m.values()] == [jnp.bfloat16]
    assert [v.dtype for v in opt.v.values()] == [jnp.float32]
