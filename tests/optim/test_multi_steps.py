import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import models, quadratic_grads

from flarejax.optim import SGD, Adam, MultiSteps


def test_params_change_every_kth_call_only():
    params = models()["flat"]
    opt = MultiSteps(Adam(0.1), 3)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    for i in range(7):
        new_opt, new = step(opt, params, quadratic_grads(params, i))
        moved = not np.array_equal(new["w"], params["w"])
        assert moved == (i % 3 == 2)
        assert bool(new_opt.has_updated()) == moved
        assert int(new_opt.opt.t) == (i + 1) // 3
        opt, params = new_opt, new
    assert int(opt.mini_step) == 1 and int(opt.gradient_step) == 2


def test_bfloat16_params_accumulate_in_float32():
    params = models(jnp.bfloat16)["flat"]
    opt = MultiSteps(SGD(0.1), 2)
    out = opt(params, quadratic_grads(params, 0))
    assert out["w"].dtype == jnp.bfloat16 and opt.acc_grads["w"].dtype == jnp.float32


@pytest.mark.parametrize("k", [0, -3])
def test_k_below_one_is_an_error(k):
    with pytest.raises(ValueError, match=f"every_k_schedule must be >= 1, got {k}"):
        MultiSteps(SGD(0.1), k)
