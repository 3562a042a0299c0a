import jax.numpy as jnp
import optax
import pytest
from helpers import check_parity, f32

import flarejax as flr


@pytest.mark.parametrize("kwargs", [{}, {"b1": 0.8, "b2": 0.99, "eps": 1e-6}, {"eps_root": 1e-8}])
def test_adam_matches_optax(kwargs):
    check_parity(lambda: flr.optim.Adam(0.01, **kwargs), f32(optax.adam, 0.01, **kwargs), steps=100)


def test_adam_schedule_matches_optax():
    sched = optax.linear_schedule(0.05, 0.001, 30)
    check_parity(lambda: flr.optim.Adam(sched), f32(optax.adam, sched), steps=50)


def test_adam_bfloat16_keeps_dtype():
    check_parity(
        lambda: flr.optim.Adam(0.01),
        optax.adam(0.01),
        steps=20,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        model_names=("flat",),
    )
