import jax.numpy as jnp
import optax
import pytest
from helpers import check_parity, f32

import flarejax as flr


@pytest.mark.parametrize("mask", ["w", lambda key: not key.endswith("b")])
def test_adamw_mask_and_weight_decay_schedule_match_optax(mask):
    # optax's mask is a tree of booleans; flarejax's a key pattern or a function of the key.
    sched = optax.linear_schedule(0.2, 0.02, 20)
    check_parity(
        lambda: flr.optim.AdamW(0.01, weight_decay=sched, mask=mask),
        f32(optax.adamw, 0.01, weight_decay=sched, mask={"w": True, "b": False}),
        steps=30,
        modes=("eager", "jit"),
        model_names=("flat",),
    )


def test_adamw_bad_mask_is_an_error():
    with pytest.raises((TypeError, ValueError), match="mask"):
        flr.optim.AdamW(0.01, mask=3)


def test_adamw_state_keeps_mu_dtype():
    opt = flr.optim.AdamW(0.01, mu_dtype=jnp.float32)
    params = {"w": jnp.ones((2,), jnp.bfloat16)}
    opt(params, params)
    assert opt.m["w"].dtype == jnp.float32
