import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close

import flarejax as flr

_rng = np.random.default_rng(42)
SHAPES = {"w": (6, 4), "b": (4,), "s": ()}
TARGET = {k: _rng.normal(size=s) for k, s in SHAPES.items()}
CURV = {k: _rng.uniform(0.5, 2.0, size=s) for k, s in SHAPES.items()}
NOISE = {k: _rng.normal(scale=0.3, size=(60, *s)) for k, s in SHAPES.items()}
INIT = {k: _rng.normal(size=s) for k, s in SHAPES.items()}


def grad64(params, step):
    """Gradient of sum(c * (p - target)**2) plus noise, in float64."""
    p = {k: np.asarray(v, np.float64) for k, v in params.items()}
    return {k: 2 * CURV[k] * (p[k] - TARGET[k]) + NOISE[k][step] for k in SHAPES}


def rprop_reference(steps, lr, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
    """torch.optim.Rprop, from its documented algorithm, in float64 NumPy."""
    eta_minus, eta_plus = etas
    step_min, step_max = step_sizes
    params = {k: v.copy() for k, v in INIT.items()}
    prev = {k: np.zeros(s) for k, s in SHAPES.items()}
    eta = {k: np.full(s, lr) for k, s in SHAPES.items()}
    for t in range(steps):
        grads = grad64(params, t)
        for k in SHAPES:
            g, product = grads[k], grads[k] * prev[k]
            eta[k] = np.where(
                product > 0,
                np.minimum(eta[k] * eta_plus, step_max),
                np.where(product < 0, np.maximum(eta[k] * eta_minus, step_min), eta[k]),
            )
            g = np.where(product < 0, 0.0, g)
            params[k] = params[k] - eta[k] * np.sign(g)
            prev[k] = g
    return params


def run(make_opt, steps, mode, dtype=jnp.float32):
    opt = make_opt()
    params = {k: jnp.asarray(v, dtype) for k, v in INIT.items()}
    grads_of = lambda p, t: {k: jnp.asarray(g, dtype) for k, g in grad64(p, t).items()}  # noqa: E731
    if mode == "init":
        opt.init(params)
    step = jax.jit(lambda o, p, g: (o, o(p, g))) if mode != "eager" else None
    for t in range(steps):
        if step is None:
            params = opt(params, grads_of(params, t))
        else:
            opt, params = step(opt, params, grads_of(params, t))
    return params


@pytest.mark.parametrize("mode", ["eager", "jit", "init"])
def test_rprop_matches_torch_algorithm(mode):
    expected = rprop_reference(50, 0.01)
    actual = run(lambda: flr.optim.Rprop(0.01), 50, mode)
    assert_trees_close(actual, expected, rtol=1e-5, atol=1e-6)


def test_rprop_options_match_torch_algorithm():
    expected = rprop_reference(50, 0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))
    make = lambda: flr.optim.Rprop(  # noqa: E731
        0.05, eta_minus=0.3, eta_plus=1.5, min_step_size=1e-3, max_step_size=0.2
    )
    assert_trees_close(run(make, 50, "jit"), expected, rtol=1e-5, atol=1e-6)


def test_rprop_bfloat16_keeps_dtype():
    # bfloat16 gradients can flip sign relative to float64 near the optimum: few steps.
    expected = rprop_reference(8, 0.01)
    actual = run(lambda: flr.optim.Rprop(0.01), 8, "jit", jnp.bfloat16)
    assert all(x.dtype == jnp.bfloat16 for x in actual.values())
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)


def test_optax_rprop_is_one_step_late():
    # The documented difference, on a gradient stream that ignores the parameters:
    # optax's first update is zero, and its update t+1 is flarejax's update t,
    # dropped where the sign changes at t+1 (where flarejax's update t+1 is 0).
    grads = [{"w": jnp.asarray(NOISE["w"][t], jnp.float32)} for t in range(6)]
    tx = optax.rprop(0.01)
    state = tx.init({"w": jnp.zeros(SHAPES["w"])})
    opt = flr.optim.Rprop(0.01)
    ours, theirs = [], []
    for g in grads:
        update, state = tx.update(g, state)
        theirs.append(-update["w"])
        ours.append(-opt({"w": jnp.zeros(SHAPES["w"])}, g)["w"])
    np.testing.assert_array_equal(theirs[0], 0)
    for t in range(5):
        late = jnp.where(ours[t + 1] == 0, 0, ours[t])
        np.testing.assert_allclose(theirs[t + 1], late, rtol=1e-6)
    assert any(jnp.any(u == 0) for u in ours[1:]), "the stream should flip some signs"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_step_size": 1.0, "max_step_size": 0.5}, "max_step_size must be in \\[1, inf\\]"),
    ],
)
def test_rprop_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Rprop(**{"learning_rate": 0.01, **kwargs})
