"""What a step and ``init`` cost: nothing compiled by init, per-step scalars traced once."""

from __future__ import annotations

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close

import flarejax as flr
from flarejax._core import init as init_module
from flarejax._core import per_step
from flarejax._core.eager import _run


def _model(dtype=jnp.float32):
    rng = np.random.default_rng(0)
    return {
        "w": jnp.asarray(rng.normal(size=(4, 3)), dtype),
        "b": jnp.asarray(rng.normal(size=(3,)), dtype),
    }


def _signature(opt):
    leaves, treedef = jax.tree_util.tree_flatten(opt)
    return treedef, [(np.shape(x), x.dtype, jax.typeof(x).weak_type) for x in leaves]


def _traced_init(opt, model, monkeypatch):
    """``opt.init`` with the by-key build switched off: the state the step records."""
    with monkeypatch.context() as m:
        m.setattr(init_module, "builds_by_key", lambda opt: False)
        opt.init(model)
    return opt


CASES = {
    "adam": (lambda: flr.optim.Adam(0.1), jnp.float32),
    "adam-bf16": (lambda: flr.optim.Adam(0.1), jnp.bfloat16),
    "adam-bf16-mu-f32": (lambda: flr.optim.Adam(0.1, mu_dtype=jnp.float32), jnp.bfloat16),
    "adam-complex": (lambda: flr.optim.Adam(0.1), jnp.complex64),
    "adamw": (lambda: flr.optim.AdamW(0.1, weight_decay=0.1), jnp.float32),
}


@pytest.mark.parametrize("name", CASES)
def test_init_by_key_builds_what_the_step_records(name, monkeypatch):
    make, dtype = CASES[name]
    model = _model(dtype)
    fast, traced = make(), _traced_init(make(), model, monkeypatch)
    before = _run._cache_size()
    fast.init(model)
    assert _run._cache_size() == before, "init compiled a step"
    assert _signature(fast) == _signature(traced)
    assert_trees_close(fast, traced, rtol=0, atol=0)
    grads = jax.tree.map(jnp.ones_like, model)
    assert_trees_close(fast(model, grads), traced(model, grads), rtol=0, atol=0)


def test_init_by_key_is_not_inherited():
    class Extra(flr.optim.Adam):  # builds more state than Adam's: must trace the step
        def call_param(self, key, grad, **extras):
            if key not in self.m:
                self.count = {**getattr(self, "count", {})}
            return super().call_param(key, grad, **extras)

    assert not init_module.builds_by_key(Extra(0.1))
    assert init_module.builds_by_key(flr.optim.Adam(0.1))


def test_init_of_a_traced_build_compiles_nothing():
    model = _model()
    opt = flr.optim.Lion(0.1)
    before = _run._cache_size()
    opt.init(model)
    assert _run._cache_size() == before
    assert set(opt.m) == {"w", "b"}
    assert opt.m["w"].dtype == jnp.float32


def test_init_state_is_donated_to_the_first_eager_step():
    model = _model()
    opt = flr.optim.Adam(0.1)
    opt.init(model)
    address = opt.m["w"].unsafe_buffer_pointer()
    opt(model, jax.tree.map(jnp.ones_like, model))
    assert opt.m["w"].unsafe_buffer_pointer() == address


def _count(jaxpr, name):
    found = 0
    for eqn in jaxpr.eqns:
        found += eqn.primitive.name == name
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found += _count(sub, name)
    return found


def _step_jaxpr(opt, n):
    model = {f"l{i}": jnp.ones((4,)) for i in range(n)}
    opt.init(model)
    return jax.make_jaxpr(lambda o, m, g: (o, o(m, g)))(opt, model, model).jaxpr


def test_bias_corrections_are_traced_once_per_step():
    # b1**t and b2**t: two powers for the whole step, not two per parameter.
    assert _count(_step_jaxpr(flr.optim.Adam(0.1), 5), "pow") == 2


def test_schedules_are_evaluated_once_per_step():
    calls = []

    def schedule(count):
        calls.append(count)
        return 0.1 * 0.5 ** (count / 10)

    _step_jaxpr(flr.optim.Adam(schedule), 5)
    assert len(calls) == 1


def _run_steps(opt, model, steps=3):
    for i in range(steps):
        model = opt(model, jax.tree.map(lambda x, i=i: jnp.cos(x * (i + 1)), model))
    return model


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32])
def test_per_step_scalars_keep_the_step_exact(dtype, monkeypatch):
    # bfloat16 parameters with a float32 first moment, and a schedule: the values
    # computed once per step are those promotion gives each parameter's update.
    model = _model(dtype)
    schedule = optax.cosine_decay_schedule(0.1, 10)
    shared = _run_steps(flr.optim.Adam(schedule, mu_dtype=jnp.float32), model)
    with monkeypatch.context() as m:
        m.setattr(per_step, "current_trace", lambda: None)  # every parameter its own
        alone = _run_steps(flr.optim.Adam(schedule, mu_dtype=jnp.float32), model)
    assert_trees_close(shared, alone, rtol=0, atol=0)
    tx = optax.adam(schedule, mu_dtype=jnp.float32)
    theirs, state = model, tx.init(model)
    for i in range(3):
        grads = jax.tree.map(lambda x, i=i: jnp.cos(x * (i + 1)), theirs)
        updates, state = tx.update(grads, state, theirs)
        theirs = optax.apply_updates(theirs, updates)
    # optax orders some operations differently: one bfloat16 ulp; float32 rounding
    # of updates of size 0.1 (1e-5 absolute).
    assert_trees_close(shared, theirs, rtol=1e-2 if dtype == jnp.bfloat16 else 1e-5, atol=1e-5)


def test_traced_init_returns_jax_arrays_of_the_step_signature():
    # optax's counters are constants of the traced build: they come back as the
    # arrays a step returns, not as the constants stored in the trace.
    from flarejax.optim._interop._optax import from_optax

    model = _model()
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.1))
    pre, stepped = from_optax(tx), from_optax(tx)
    pre.init(model)
    stepped.init(model)
    stepped, _ = jax.jit(lambda o, m: (o, o(m, m)))(stepped, model)
    assert _signature(pre) == _signature(stepped)
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(pre))
