"""Property tests over random PyTree models: structure, untouched leaves, stable keys."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flarejax as flr
from flarejax._tree import flat_keys, is_param

_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
_float_leaf = st.tuples(_shapes, st.sampled_from([jnp.float32, jnp.bfloat16])).map(
    lambda a: jnp.full(a[0], 0.5, a[1])
)
_other_leaf = st.one_of(
    _shapes.map(lambda s: jnp.zeros(s, jnp.int32)),
    st.just(jnp.array([True])),
    st.integers(-3, 3),
    st.text(max_size=3),
    st.none(),
)
_keys = st.text(alphabet="abcxyz", min_size=1, max_size=3)
_trees = st.recursive(
    st.one_of(_float_leaf, _other_leaf),
    lambda children: st.one_of(
        st.dictionaries(_keys, children, max_size=3),
        st.lists(children, max_size=3),
        st.lists(children, max_size=2).map(tuple),
    ),
    max_leaves=6,
)


def _grads(model):
    return jax.tree_util.tree_map(lambda x: jnp.ones_like(x) if is_param(x) else None, model)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=_trees)
def test_step_preserves_structure_and_non_parameters(model):
    opt = flr.optim.Adam(0.1)
    out = opt(model, _grads(model))
    assert jax.tree_util.tree_structure(out) == jax.tree_util.tree_structure(model)
    for a, b in zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(out)):
        if is_param(a):
            assert b.dtype == a.dtype and b.shape == a.shape
            assert not np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))
        elif isinstance(a, jax.Array):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b and type(a) is type(b)
    n_params = sum(is_param(x) for x in jax.tree_util.tree_leaves(model))
    assert len(opt.m) == n_params


@settings(max_examples=40, deadline=None)
@given(model=_trees)
def test_keys_are_unique_and_stable(model):
    keys, _, _ = flat_keys(model)
    assert len(set(keys)) == len(keys)
    rebuilt = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(model), jax.tree_util.tree_leaves(model)
    )
    assert flat_keys(rebuilt)[0] == keys
