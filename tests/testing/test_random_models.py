"""Property tests: random PyTree models through representative optimizers (one suite).

Hypothesis draws nested dicts, lists, tuples and NamedTuples of float32 and
bfloat16 parameters of random shapes (scalars and size-zero arrays included),
empty subtrees and non-parameter leaves (integer and bool arrays, Python ints,
strings, ``None``), and runs ``check_optimizer``'s lighter properties on them:
structure, non-parameters, eager vs jit, init, compile once, hyperparameter,
leaf order, parameter dtypes, ``None`` gradients and ``to_optax``. Each example
compiles a handful of steps: ``max_examples`` is kept small.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flarejax as flr
from flarejax._tree import is_param
from flarejax.testing import check_optimizer

O = flr.optim


class Pair(NamedTuple):
    left: Any
    right: Any


OPTIMIZERS = {
    "Adam": lambda: O.Adam(0.05),
    "SGD": lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
    "Chain": lambda: O.Chain(O.ClipByGlobalNorm(1.0), O.AdamW(0.05)),
    "Adafactor": lambda: O.Adafactor(0.05),
    "Lion": lambda: O.Lion(0.01),
    "MultiSteps": lambda: O.MultiSteps(O.Adam(0.05), 2),
    # A group's pattern must match some parameter of the model: "*" matches any.
    "Partition": lambda: O.Partition({"*": O.Adam(0.05)}, default=O.SGD(0.01)),
}
LIGHT = {
    "state_dict": "covered per optimizer in test_check_optimizer.py",
    "convergence": "the objectives are checked per optimizer in test_check_optimizer.py",
}

_shapes = st.lists(st.integers(0, 3), min_size=0, max_size=2).map(tuple)
_params = st.tuples(_shapes, st.sampled_from(["float32", "bfloat16"]), st.integers(0, 99)).map(
    lambda a: jnp.asarray(np.random.default_rng(a[2]).normal(size=a[0]), a[1])
)
_others = st.one_of(
    _shapes.map(lambda s: jnp.ones(s, jnp.int32)),
    st.just(jnp.array([True, False])),
    st.integers(-3, 3),
    st.text(alphabet="xyz", max_size=3),
    st.none(),
)
_keys = st.text(alphabet="abxyz", min_size=1, max_size=3)
_models = st.recursive(
    st.one_of(_params, _params, _others),
    lambda children: st.one_of(
        st.dictionaries(_keys, children, max_size=3),
        st.lists(children, max_size=3),
        st.lists(children, max_size=2).map(tuple),
        st.tuples(children, children).map(lambda t: Pair(*t)),
    ),
    max_leaves=6,
)


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(model=_models, name=st.sampled_from(sorted(OPTIMIZERS)))
def test_random_models_conform(model, name):
    report = check_optimizer(OPTIMIZERS[name], models={"random": model}, steps=3, skip=LIGHT)
    assert report["jit"] == "passed" and report["none_grads"] == "passed"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=_models)
def test_an_eager_step_moves_every_parameter_and_keeps_one_state_entry_each(model):
    """Beyond conformance: each non-empty parameter moves, and Adam holds one m per parameter."""
    grads = jax.tree_util.tree_map(lambda x: jnp.ones_like(x) if is_param(x) else None, model)
    opt = O.Adam(0.1)
    out = opt(model, grads)
    for a, b in zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(out)):
        if is_param(a) and a.size:
            assert not np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))
    assert len(opt.m) == sum(is_param(x) for x in jax.tree_util.tree_leaves(model))
