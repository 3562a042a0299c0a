import jax
import jax.numpy as jnp
import optax
from helpers import assert_trees_close, models, run_flarejax, run_optax

import flarejax as flr


def test_adadelta_bfloat16_keeps_dtype_and_descends_without_learning_rate():
    # optax 0.2.8 ascends with learning_rate=None (no sign flip); the paper's step is eta = 1.
    params = models(jnp.bfloat16)["flat"]
    expected = run_optax(optax.adadelta(1.0), params, 10)
    actual, _ = run_flarejax(lambda: flr.optim.Adadelta(), params, 10, "jit")
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
