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


# -- optax's extra arguments ----------------------------------------------------------

_A = jnp.asarray([[3.0, 0.5], [0.5, 1.0]])


def _quadratic(p):
    return 0.5 * p["x"] @ _A @ p["x"] + jnp.sum(p["y"] ** 2)


def _linesearch_run(tx, steps=6):
    """optax's documented loop for a line search: value_and_grad_from_state, then
    update with value=, grad= and value_fn=."""
    params = {"x": jnp.asarray([1.0, -2.0]), "y": jnp.asarray([0.5])}
    state = tx.init(params)
    value_and_grad = optax.value_and_grad_from_state(_quadratic)

    @jax.jit
    def step(params, state):
        value, grad = value_and_grad(params, state=state)
        updates, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=_quadratic)
        return optax.apply_updates(params, updates), state

    out = []
    for _ in range(steps):
        params, state = step(params, state)
        out.append(params)
    return out


def test_chain_with_optax_zoom_linesearch_equals_optax():
    expected = _linesearch_run(optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(5)))
    actual = _linesearch_run(optax.chain(to_optax(O.SGD(1.0)), optax.scale_by_zoom_linesearch(5)))
    for a, e in zip(actual, expected):
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7), a, e)
    assert float(_quadratic(actual[-1])) < 1e-2 * float(_quadratic(actual[0]))


def test_every_bridged_optimizer_accepts_optaxs_extra_arguments():
    """grad=, value= and value_fn= as optax passes them, to plain and line-search steps."""
    params = {"x": jnp.asarray([1.0, -2.0]), "y": jnp.asarray([0.5])}
    value, grad = jax.value_and_grad(_quadratic)(params)
    extra = {"value": value, "grad": grad, "value_fn": _quadratic}
    for opt in (O.SGD(0.1), O.Adam(0.1), O.LBFGS(linesearch=None), O.PolyakSGD(0.1)):
        tx = to_optax(opt)
        updates, _ = tx.update(grad, tx.init(params), params, **extra)
        assert jax.tree.structure(updates) == jax.tree.structure(params)


# (grads= already collides with the step's own argument, in Python.)
@pytest.mark.parametrize("name", ["grad", "key", "param", "params"])
def test_a_native_step_rejects_the_hooks_own_names_as_extras(name):
    params = {"x": jnp.asarray([1.0, -2.0])}
    for opt in (O.SGD(0.1), O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(0.1))):
        with pytest.raises(TypeError, match=f"the extra argument {name}= of an optimizer step"):
            opt(params, params, **{name: params["x"]})


# -- optax's state helpers ------------------------------------------------------------


def test_map_params_says_why_and_the_documented_equivalent_works():
    params = _params(jnp.float32)
    tx = to_optax(O.Adam(0.1))
    state = tx.init(params)
    with pytest.raises(TypeError, match=r"optax.tree.map_params cannot map the state of to_optax"):
        optax.tree.map_params(tx.init, lambda x: x, state)
    # The equivalent: the state's shardings, without building it.
    compiled = jax.jit(tx.init).lower(params).compile()
    shardings = compiled.output_shardings
    assert jax.tree.structure(shardings) == jax.tree.structure(state)
    assert all(
        s.is_equivalent_to(x.sharding, x.ndim)
        for s, x in zip(jax.tree.leaves(shardings), jax.tree.leaves(state))
    )
    assert to_optax(O.Adam(0.1)).init({}).m == {}  # a model without parameters still works


def test_state_fields_keep_flarejaxs_names():
    """Documented choice: optax.tree.get finds optax's names only in optax's NamedTuples."""
    params = _params(jnp.float32)
    state = to_optax(O.Adam(0.1)).init(params)
    assert optax.tree.get(state, "mu") is None
    assert state.m.keys() == params.keys() and int(state.t) == 0
