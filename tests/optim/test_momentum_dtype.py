"""Every optimizer with a momentum-like accumulator takes its dtype, as optax's ``mu_dtype``.

optax has the option on ``adam``, ``sgd`` (``accumulator_dtype``), ``lion``, ...;
the ones below have it in flarejax only. With bfloat16 parameters and a float32
momentum, the parameters stay bfloat16 and follow optax (bfloat16 throughout)
within bfloat16 rounding.
"""

import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr

O = flr.optim
F32 = {"mu_dtype": jnp.float32}
ACC = {"accumulator_dtype": jnp.float32}

# name -> (flarejax optimizer with a float32 momentum, the optax twin, the momentum state)
CASES = {
    "RAdam": (lambda: O.RAdam(0.01, **F32), optax.radam(0.01), "m"),
    "Adamax": (lambda: O.Adamax(0.01, **F32), optax.adamax(0.01), "m"),
    "AdamaxW": (lambda: O.AdamaxW(0.01, **F32), optax.adamaxw(0.01), "m"),
    "Yogi": (lambda: O.Yogi(0.01, **F32), optax.yogi(0.01), "m"),
    "AdaBelief": (lambda: O.AdaBelief(0.01, **F32), optax.adabelief(0.01), "m"),
    "Adan": (lambda: O.Adan(0.01, **F32), optax.adan(0.01), "v"),
    "NovoGrad": (lambda: O.NovoGrad(0.01, **F32), optax.novograd(0.01), "m"),
    "LARS": (lambda: O.LARS(0.01, **ACC), optax.lars(0.01), "trace"),
    "RMSProp": (
        lambda: O.RMSProp(0.01, momentum=0.9, **ACC),
        optax.rmsprop(0.01, momentum=0.9),
        "trace",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_momentum_dtype(name):
    make, tx, state = CASES[name]
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(tx, params, 10)
    actual, opt = run_flarejax(make, params, 10, "jit")
    assert {x.dtype for x in jax.tree.leaves(actual)} == {jnp.dtype(jnp.bfloat16)}
    assert {x.dtype for x in getattr(opt, state).values()} == {jnp.dtype(jnp.float32)}
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_momentum_dtype_is_validated(name):
    make = getattr(O, name)
    option = "accumulator_dtype" if name in ("LARS", "RMSProp") else "mu_dtype"
    with pytest.raises(ValueError, match=f"{option} must be a floating dtype"):
        make(0.01, **{option: jnp.int32})
