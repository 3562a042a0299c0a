"""``to_optax``: dtypes, optax's extra arguments, and optax's state helpers.

Every number is compared against optax: the bridge must behave as an optax
transformation would in the same place.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr
from flarejax.optim import to_optax

O = flr.optim

# flarejax optimizer -> its optax counterpart, with the same hyperparameters.
PAIRS = {
    "Adam": (lambda: O.Adam(0.1), lambda: optax.adam(0.1)),
    "AdamW": (lambda: O.AdamW(0.1), lambda: optax.adamw(0.1)),
    "Adamax": (lambda: O.Adamax(0.1), lambda: optax.adamax(0.1)),
    "AdamaxW": (lambda: O.AdamaxW(0.1), lambda: optax.adamaxw(0.1)),
    "Adan": (lambda: O.Adan(0.1), lambda: optax.adan(0.1)),
    "AMSGrad": (lambda: O.AMSGrad(0.1), lambda: optax.amsgrad(0.1)),
    "AdaBelief": (lambda: O.AdaBelief(0.1), lambda: optax.adabelief(0.1)),
    "RAdam": (lambda: O.RAdam(0.1), lambda: optax.radam(0.1)),
    "NAdam": (lambda: O.NAdam(0.1), lambda: optax.nadam(0.1)),
    "NAdamW": (lambda: O.NAdamW(0.1), lambda: optax.nadamw(0.1)),
    "Yogi": (lambda: O.Yogi(0.1), lambda: optax.yogi(0.1)),
    "LAMB": (lambda: O.LAMB(0.1), lambda: optax.lamb(0.1)),
    "NoisySGD": (lambda: O.NoisySGD(0.1), lambda: optax.noisy_sgd(0.1, key=jax.random.key(0))),
    "SGD": (lambda: O.SGD(0.1, momentum=0.9), lambda: optax.sgd(0.1, momentum=0.9)),
}


def _params(dtype):
    return {"w": jnp.linspace(-1.0, 1.0, 6, dtype=dtype).reshape(2, 3), "b": jnp.ones(3, dtype)}


def _dtypes(tree):
    return jax.tree.map(lambda x: jnp.dtype(x.dtype).name, tree)


def _signature(tree):
    return [(x.shape, x.dtype, jax.typeof(x).weak_type) for x in jax.tree.leaves(tree)]


# -- dtypes ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_updates_come_back_in_the_gradients_dtype(name, dtype):
    make, make_optax = PAIRS[name]
    params = _params(dtype)
    grads = jax.tree.map(lambda x: 0.5 * x, params)
    reference = make_optax()
    expected, _ = reference.update(grads, reference.init(params), params)
    tx = to_optax(make())
    state = tx.init(params)
    updates, new_state = tx.update(grads, state, params)
    assert _dtypes(updates) == _dtypes(expected) == _dtypes(grads)
    assert _signature(new_state) == _signature(state)
    if name != "NoisySGD":  # its noise is drawn from another key than optax's
        jax.tree.map(
            lambda a, e: np.testing.assert_allclose(
                np.asarray(a, np.float32), np.asarray(e, np.float32), rtol=2e-2, atol=1e-3
            ),
            updates,
            expected,
        )


@pytest.mark.parametrize("name", ["Adan", "Adam", "SGD"])
def test_state_keeps_its_type_for_float32_params_and_bfloat16_grads(name):
    """init sees float32 parameters; bfloat16 gradients must not retype the state."""
    tx = to_optax(PAIRS[name][0]())
    params = _params(jnp.float32)
    grads = jax.tree.map(lambda x: (0.5 * x).astype(jnp.bfloat16), params)
    state = tx.init(params)

    @jax.jit
    def maybe_step(skip, state):
        # optax's pattern for a skipped step: both branches must have one type.
        return jax.lax.cond(skip, lambda: state, lambda: tx.update(grads, state, params)[1])

    stepped = maybe_step(False, state)
    assert _signature(stepped) == _signature(state)
    assert _signature(maybe_step(True, stepped)) == _signature(state)
    updates, _ = tx.update(grads, state, params)
    assert _dtypes(updates) == _dtypes(grads)
