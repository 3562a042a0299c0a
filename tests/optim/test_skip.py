import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, f32, models, quadratic_grads, run_flarejax, run_optax

from flarejax.optim import (
    SGD,
    Adam,
    AddNoise,
    Chain,
    ClipByGlobalNorm,
    MultiSteps,
    SkipLargeUpdates,
    SkipNonFinite,
)

BAD_STEPS = {0: jnp.nan, 3: jnp.inf, 4: jnp.nan, 5: -jnp.inf, 11: jnp.nan}  # the first one too


def _bad_grads(params, step):
    g = quadratic_grads(params, step)
    if step in BAD_STEPS:
        leaves, treedef = jax.tree.flatten(g)
        leaves[0] = leaves[0].at[..., 0].set(BAD_STEPS[step])
        g = jax.tree.unflatten(treedef, leaves)
    return g


def _check(make, tx, grads_fn=_bad_grads, model="flat", modes=("eager", "jit", "init")):
    params = models()[model]
    expected = run_optax(tx, params, 50, grads_fn=grads_fn)
    for mode in modes:
        actual, opt = run_flarejax(make, params, 50, mode, grads_fn=grads_fn)
        assert_trees_close(actual, expected)
    return opt


def test_skip_non_finite_matches_apply_if_finite():
    opt = _check(
        lambda: SkipNonFinite(Chain(ClipByGlobalNorm(1.0), Adam(0.01)), max_consecutive_errors=5),
        optax.apply_if_finite(
            optax.chain(optax.clip_by_global_norm(1.0), f32(optax.adam, 0.01)), 5
        ),
    )
    assert int(opt.total_notfinite) == len(BAD_STEPS)
    assert int(opt.opt.opts[1].t) == 50 - len(BAD_STEPS)  # skipped steps did not count
    assert bool(opt.last_finite) and int(opt.notfinite_count) == 0


def test_giving_up_after_max_consecutive_errors_matches_optax():
    # Steps 3, 4, 5 in a row: with max 1 the third is applied (and poisons the model).
    _check(
        lambda: SkipNonFinite(SGD(0.05), max_consecutive_errors=1),
        optax.apply_if_finite(optax.sgd(0.05), 1),
        modes=("jit",),
    )


def test_skipped_step_changes_no_state_at_all():
    params = models()["flat"]
    opt = SkipNonFinite(Chain(AddNoise(0.1, 0.5, 0), Adam(0.1)))
    bad = jax.tree.map(lambda g: g * jnp.nan, quadratic_grads(params, 0))
    out = opt(params, bad)  # a skipped first step: state is built, not advanced
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)
    fresh = Chain(AddNoise(0.1, 0.5, 0), Adam(0.1))
    fresh.init(params)
    assert len(jax.tree.leaves(opt.opt)) == len(jax.tree.leaves(fresh))
    for a, b in zip(jax.tree.leaves(opt.opt), jax.tree.leaves(fresh)):
        assert a.dtype == b.dtype and jax.typeof(a).weak_type == jax.typeof(b).weak_type
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b)
    before = [np.asarray(x) for x in jax.tree.leaves(opt.opt)[-2:]]  # eager steps donate state
    opt(params, quadratic_grads(params, 1))
    opt(params, bad)
    assert int(opt.total_notfinite) == 2 and not bool(opt.last_finite)
    assert int(opt.opt.opts[1].t) == 1
    assert not np.array_equal(jax.tree.leaves(opt.opt)[-1], before[-1])


def _spiky_grads(params, step):
    scale = 10.0 if step % 9 == 4 else 1.0
    return jax.tree.map(lambda g: g * scale, quadratic_grads(params, step))


def test_skip_large_updates_matches_optax():
    skip = functools.partial(optax.skip_large_updates, max_squared_norm=400.0)
    opt = _check(
        lambda: SkipLargeUpdates(Adam(0.05), 400.0),
        optax.MultiSteps(f32(optax.adam, 0.05), 1, should_skip_update_fn=skip),
        grads_fn=_spiky_grads,
        modes=("eager", "jit"),
    )
    assert int(opt.total_skipped) == 6  # the spikes
    assert int(opt.opt.t) == 44


def test_nested_wrappers_match_optax():
    _check(
        lambda: SkipNonFinite(MultiSteps(Adam(0.02), 2)),
        optax.apply_if_finite(
            optax.MultiSteps(f32(optax.adam, 0.02), 2).gradient_transformation(), 100
        ),
        modes=("jit", "init"),
    )


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match=r"max_consecutive_errors must be >= 0 or None, got -1"):
        SkipNonFinite(SGD(0.1), -1)
    with pytest.raises(ValueError, match=r"max_squared_norm must be > 0, got 0\.0"):
        SkipLargeUpdates(SGD(0.1), 0.0)
