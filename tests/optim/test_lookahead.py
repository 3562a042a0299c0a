import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, f32, models, quadratic_grads, run_flarejax

from flarejax.optim import SGD, Adam, Freeze, Lookahead, Partition


def _optax_lookahead(tx, params, steps):
    params = optax.LookaheadParams.init_synced(params)
    state = tx.init(params)
    update = jax.jit(tx.update)
    for step in range(steps):
        updates, state = update(quadratic_grads(params.fast, step), state, params)
        params = optax.apply_updates(params, updates)
    return params


@pytest.mark.parametrize(("sync_period", "alpha"), [(4, 0.5), (1, 0.8)])
def test_lookahead_matches_optax(sync_period, alpha):
    params = models()["nested"]
    expected = _optax_lookahead(
        optax.lookahead(f32(optax.adam, 0.02), sync_period, alpha), params, 50
    )
    modes = ("eager", "jit", "init") if sync_period == 4 else ("jit",)
    for mode in modes:
        fast, opt = run_flarejax(
            lambda: Lookahead(Adam(0.02), sync_period, alpha), params, 50, mode
        )
        assert_trees_close(fast, expected.fast)
        assert_trees_close(opt.slow_params(fast), expected.slow)


def test_slow_params_before_the_first_step_and_unupdated_keys():
    params = models()["flat"]
    opt = Lookahead(Partition({"b": Freeze("*")}, default=SGD(0.1)), 2, 0.5)
    assert opt.slow_params(params) is not params
    assert_trees_close(opt.slow_params(params), params)
    for i in range(4):
        params = opt(params, quadratic_grads(params, i))
    assert set(opt.slow) == {"w"}
    np.testing.assert_array_equal(opt.slow_params(params)["b"], params["b"])
    slow = opt.slow_params(params)
    np.testing.assert_allclose(slow["w"], params["w"], rtol=1e-5)  # just synced
    opt(params, quadratic_grads(params, 5))
    assert np.all(np.isfinite(np.asarray(slow["w"])))  # a copy, not the donated state


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0, 0.5), r"sync_period must be an int >= 1, got 0"),
        ((2.0, 0.5), r"sync_period must be an int >= 1, got 2\.0"),
        ((2, 1.5), r"slow_step_size must be in \[0, 1\], got 1\.5"),
    ],
)
def test_invalid_hyperparameters(args, match):
    with pytest.raises(ValueError, match=match):
        Lookahead(SGD(0.1), *args)
    assert jnp.ndim(Lookahead(SGD(0.1), 2, 0.5).steps_since_sync) == 0
