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


def test_adam_mu_dtype_matches_optax():
    check_parity(
        lambda: flr.optim.Adam(0.01, mu_dtype=jnp.float32),
        optax.adam(0.01, mu_dtype=jnp.float32),
        steps=20,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        model_names=("flat",),
    )
    opt = flr.optim.Adam(0.01, mu_dtype=jnp.float32)
    out = opt({"w": jnp.ones(3, jnp.bfloat16)}, {"w": jnp.ones(3, jnp.bfloat16)})
    assert opt.m["w"].dtype == jnp.float32 and opt.v["w"].dtype == jnp.bfloat16
    assert out["w"].dtype == jnp.bfloat16
