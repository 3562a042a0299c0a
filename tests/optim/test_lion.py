import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_lion_mask_schedules_and_mu_dtype_match_optax():
    # Plain optax as reference: the float32-injected one would compute b2 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.
    lr = optax.linear_schedule(0.003, 0.0001, 30)
    wd = optax.linear_schedule(0.0, 0.5, 20)
    kwargs = {"b1": 0.8, "b2": 0.95, "mu_dtype": jnp.bfloat16, "weight_decay": wd}
    params = models()["nested"]
    make = lambda: flr.optim.Lion(lr, **kwargs, mask="re:enc\\..*")  # noqa: E731
    actual, opt = run_flarejax(make, params, 50, "jit")
    mask = {"enc": True, "scale": False}
    assert_trees_close(actual, run_optax(optax.lion(lr, **kwargs, mask=mask), params, 50))
    assert {m.dtype for m in opt.m.values()} == {jnp.dtype(jnp.bfloat16)}
