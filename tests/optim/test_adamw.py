import jax.numpy as jnp
import pytest

import flarejax as flr


def test_adamw_bad_mask_is_an_error():
    with pytest.raises((TypeError, ValueError), match="mask"):
        flr.optim.AdamW(0.01, mask=3)


def test_adamw_state_keeps_mu_dtype():
    opt = flr.optim.AdamW(0.01, mu_dtype=jnp.float32)
    params = {"w": jnp.ones((2,), jnp.bfloat16)}
    opt(params, params)
    assert opt.m["w"].dtype == jnp.float32
