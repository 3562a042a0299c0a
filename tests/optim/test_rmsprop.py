import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


@pytest.mark.parametrize(
    "kwargs",
    [
        {"centered": True, "momentum": 0.9, "initial_scale": 0.1},
        {"momentum": 0.8, "nesterov": True, "eps_in_sqrt": False, "decay": 0.95},
        {"centered": True, "bias_correction": True, "eps": 1e-6},
    ],
)
def test_rmsprop_options_and_schedule_match_optax(kwargs):
    # The schedule is inside the momentum buffer, as in optax.
    sched = optax.cosine_decay_schedule(0.02, 40)
    check_parity(
        lambda: flr.optim.RMSProp(sched, **kwargs),
        f32(optax.rmsprop, sched, **kwargs),
        modes=("eager",),
        model_names=("flat",),
    )


def test_rmsprop_bfloat16_keeps_dtype():
    params = models(jnp.bfloat16)["flat"]
    make = lambda: flr.optim.RMSProp(0.01, centered=True, momentum=0.9)  # noqa: E731
    expected = run_optax(optax.rmsprop(0.01, centered=True, momentum=0.9), params, 10)
    actual, _ = run_flarejax(make, params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
