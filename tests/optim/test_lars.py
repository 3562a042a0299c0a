import jax.numpy as jnp
import optax
from helpers import assert_trees_close, run_flarejax, run_optax

import flarejax as flr


def test_lars_zero_parameter_gets_plain_step():
    # A zero parameter has no trust signal: the ratio is 1, as in optax.
    params = {"w": jnp.zeros((3, 2)), "b": jnp.ones(2)}
    expected = run_optax(optax.lars(0.1, momentum=0.0), params, 1)
    actual, _ = run_flarejax(lambda: flr.optim.LARS(0.1, momentum=0.0), params, 1)
    assert_trees_close(actual, expected)
