import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_lamb_zero_parameter_mask_and_schedules_match_optax():
    # A zero-initialized bias has a zero norm: its trust ratio is 1, not 0.
    params = {"w": models()["flat"]["w"], "b": jnp.zeros(3)}
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    kwargs = {"b1": 0.8, "b2": 0.99, "eps": 1e-8, "eps_root": 1e-8, "weight_decay": wd}
    ref = optax.inject_hyperparams(optax.lamb, static_args=("mask",))
    expected = run_optax(ref(lr, **kwargs, mask={"w": True, "b": False}), params, 50)
    actual, _ = run_flarejax(lambda: flr.optim.LAMB(lr, **kwargs, mask="w"), params, 50, "jit")
    assert_trees_close(actual, expected)
