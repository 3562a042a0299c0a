import jax.numpy as jnp
import optax
from helpers import check_parity

import flarejax as flr


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
