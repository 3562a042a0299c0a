"""Cautious: against a NumPy port of the authors' C-Lion, around a Chain, compiles, checkpoints."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trees_close, models, quadratic_grads, run_flarejax

import flarejax as flr

O = flr.optim


def c_lion_update_fn(p, grad, exp_avg, lr, wd, beta1, beta2):
    """github.com/kyleliang919/C-Optim ``c_lion.py`` ``update_fn``, ported line by
    line from torch to float64 NumPy (in-place updates of ``p`` and ``exp_avg``)."""
    p *= 1 - lr * wd
    update = np.sign(exp_avg.copy() * beta1 + (1 - beta1) * grad)
    mask = (update * grad > 0).astype(grad.dtype)
    mask = mask * (mask.size / (mask.sum() + 1))
    p += -lr * (update * mask)
    exp_avg *= beta2
    exp_avg += (1 - beta2) * grad


def run_c_lion(params, steps, lr, b1, b2):
    leaves, treedef = jax.tree_util.tree_flatten(params)
    ps = [np.array(x, np.float64) for x in leaves]
    avgs = [np.zeros_like(p) for p in ps]
    for i in range(steps):
        current = treedef.unflatten([jnp.asarray(p, jnp.float32) for p in ps])
        grads = jax.tree_util.tree_leaves(quadratic_grads(current, i))
        for p, g, m in zip(ps, grads, avgs):
            c_lion_update_fn(p, np.array(g, np.float64), m, lr, 0.0, b1, b2)
    return treedef.unflatten([jnp.asarray(p, jnp.float32) for p in ps])


@pytest.mark.parametrize("mode", ["eager", "init"])
def test_cautious_lion_matches_the_authors_c_lion(mode):
    params = models()["flat"]
    make = lambda: O.Cautious(O.Lion(0.01, b1=0.9, b2=0.99, weight_decay=0.0))  # noqa: E731
    actual, _ = run_flarejax(make, params, 25, mode)
    assert_trees_close(actual, run_c_lion(params, 25, 0.01, 0.9, 0.99), rtol=1e-5, atol=1e-6)


def test_mask_and_rescale_by_hand():
    # SGD's update is lr * g: it agrees with g where g != 0, so only the zeros drop.
    opt = O.Cautious(O.SGD(1.0), eps=0.5)
    model = {"w": jnp.zeros(4)}
    out = opt(model, {"w": jnp.array([1.0, -2.0, 0.0, 3.0])})
    np.testing.assert_allclose(out["w"], -np.array([1.0, -2.0, 0.0, 3.0]) * 4 / 3.5, rtol=1e-6)


def test_around_a_chain_compiles_once_and_round_trips_its_state():
    model = models()["nested"]
    make = lambda: O.Cautious(O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(0.05)))  # noqa: E731
    traces = 0

    @jax.jit
    def step(opt, model, grads):
        nonlocal traces
        traces += 1
        return opt, opt(model, grads)

    opt = make()
    opt.init(model)
    for i in range(4):
        opt, model = step(opt, model, quadratic_grads(model, i))
    assert traces == 1
    assert int(opt.opt.opts[1].t) == 4
    restored = make()
    restored.init(model)
    restored.load_state_dict(opt.state_dict())
    grads = quadratic_grads(model, 4)
    assert_trees_close(restored(model, grads), opt(model, grads), rtol=0, atol=0)
    # No state of its own: the memory is Adam's two moments and its counter.
    assert O.state_bytes(opt) == O.state_bytes(opt.opt)
    assert "state/parameters 2.0" in opt.summary(model)
