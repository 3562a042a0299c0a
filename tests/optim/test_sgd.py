import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import check_parity, models, run_flarejax

import flarejax as flr


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_accumulator_dtype_matches_optax(nesterov):
    kwargs = {"momentum": 0.9, "nesterov": nesterov, "accumulator_dtype": jnp.float32}
    check_parity(
        lambda: flr.optim.SGD(0.01, **kwargs),
        optax.sgd(0.01, **kwargs),
        steps=20,
        dtype=jnp.bfloat16,
        rtol=1e-2,
        atol=1e-2,
        modes=("eager", "jit"),
        model_names=("flat",),
    )
    start = models(jnp.bfloat16)["flat"]
    params, opt = run_flarejax(lambda: flr.optim.SGD(0.01, **kwargs), start, 2)
    assert {x.dtype for x in jax.tree.leaves(opt.trace)} == {jnp.dtype(jnp.float32)}
    assert {x.dtype for x in jax.tree.leaves(params)} == {jnp.dtype(jnp.bfloat16)}


@pytest.mark.parametrize("make", [flr.optim.SGD, flr.optim.Signum, flr.optim.MultiSteps])
def test_accumulator_dtype_is_validated_alike(make):
    args = (flr.optim.SGD(0.1), 2) if make is flr.optim.MultiSteps else (0.1,)
    with pytest.raises(ValueError, match="accumulator_dtype must be a floating dtype"):
        make(*args, accumulator_dtype=jnp.int32)
