"""Learning-rate sweeps with ``jax.vmap``: 16 optimizers, one compiled call.

An optimizer is a PyTree, so a batch of optimizers is one optimizer whose leaves
have a leading axis. Two ways to build it: construct the optimizer inside the
vmapped function from a traced learning rate, or build one, ``init`` it and
stack copies with ``jax.tree_util.tree_map``, then set the learning-rate leaf.
Either way, 16 copies of a small model train in one call, and each copy equals
the run with that learning rate alone.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr

O = flr.optim
N = 16
STEPS = 25
LRS = jnp.logspace(-3, -1, N, dtype=jnp.float32)


def _problem():
    r = np.random.default_rng(0)
    x = jnp.asarray(r.normal(size=(32, 3)), jnp.float32)
    y = x @ jnp.array([1.0, -2.0, 0.5]) + 0.3
    model = {"w": jnp.zeros(3), "b": jnp.zeros(())}

    def loss(m):
        return jnp.mean((x @ m["w"] + m["b"] - y) ** 2)

    return model, loss


def _train(opt, model, loss):
    # Lazily built state would change the carry's structure inside scan: build it first.
    opt.init(model)

    def body(carry, _):
        opt, model = carry
        value, grads = jax.value_and_grad(loss)(model)
        return (opt, opt(model, grads)), value

    (opt, model), losses = jax.lax.scan(body, (opt, model), None, length=STEPS)
    return model, losses


MAKERS = {
    "SGD": lambda lr: O.SGD(lr, momentum=0.9),
    "Adam": lambda lr: O.Adam(lr),
    "Chain": lambda lr: O.Chain(O.ClipByGlobalNorm(1.0), O.AdamW(lr)),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_sweep_constructed_inside_vmap(name):
    model, loss = _problem()
    make = MAKERS[name]

    @jax.jit
    def sweep(lrs):
        return jax.vmap(lambda lr: _train(make(lr), model, loss))(lrs)

    models, losses = sweep(LRS)
    assert models["w"].shape == (N, 3) and losses.shape == (N, STEPS)
    one = jax.jit(lambda lr: _train(make(lr), model, loss))
    for i in range(N):
        alone, alone_losses = one(LRS[i])
        np.testing.assert_allclose(models["w"][i], alone["w"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(losses[i], alone_losses, rtol=1e-5, atol=1e-6)
    # The sweep means something: the largest rate ends lowest here.
    assert losses[-1, -1] < losses[0, -1]


def test_sweep_over_stacked_optimizers():
    """Build one optimizer, init it, stack 16 copies, set their learning rates."""
    model, loss = _problem()
    opt = O.Adam(0.01)
    opt.init(model)
    opts = jax.tree_util.tree_map(lambda x: jnp.stack([x] * N), opt)
    opts.learning_rate = LRS
    models = jax.tree_util.tree_map(lambda x: jnp.stack([x] * N), model)

    trained, _ = jax.jit(jax.vmap(lambda o, m: _train(o, m, loss)))(opts, models)
    alone_run = jax.jit(lambda o: _train(o, model, loss))
    for i in (0, 7, N - 1):
        alone, _ = alone_run(O.Adam(float(LRS[i])))
        np.testing.assert_allclose(trained["w"][i], alone["w"], rtol=1e-5, atol=1e-6)


def test_one_step_vmapped_over_stacked_optimizers():
    """One step, vmapped: each copy subtracts its own learning rate times its gradient."""
    model, loss = _problem()
    opt = O.SGD(0.1)
    opts = jax.tree_util.tree_map(lambda x: jnp.stack([x] * N), opt)
    opts.learning_rate = LRS
    models = jax.tree_util.tree_map(lambda x: jnp.stack([x] * N), model)
    grads = jax.vmap(jax.grad(loss))(models)
    out = jax.vmap(lambda o, m, g: o(m, g))(opts, models, grads)
    np.testing.assert_allclose(out["w"], models["w"] - LRS[:, None] * grads["w"], rtol=1e-6)


def _quadratic(m):
    return jnp.sum((m["w"] - jnp.arange(3.0)) ** 2) + jnp.sum(m["b"] ** 2)


# Optimizers whose steps branch (lax.cond, lax.while_loop): under vmap the branches
# are batched, and each copy must still follow its own.
CONTROL_FLOW = {
    "MultiSteps": (lambda: O.MultiSteps(O.Adam(0.1), 2), False),
    "SkipNonFinite": (lambda: O.SkipNonFinite(O.Adam(0.1)), False),
    "SkipLargeUpdates": (lambda: O.SkipLargeUpdates(O.Adam(0.1), 30.0), False),
    "Lookahead": (lambda: O.Lookahead(O.SGD(0.1), 2, 0.5), False),
    "ReduceLROnPlateau": (lambda: O.ReduceLROnPlateau(O.SGD(0.1), patience=1), True),
    "LBFGS": (lambda: O.LBFGS(), True),
}


@pytest.mark.parametrize("name", sorted(CONTROL_FLOW))
def test_branching_optimizers_vmap(name):
    make, needs_loss = CONTROL_FLOW[name]
    # Copies that differ: some large gradients (skipped), one NaN (skipped by SkipNonFinite).
    starts = {
        "w": jnp.array([[0.0, 0, 0], [5, 5, 5], [1, 2, 3], [jnp.nan, 0, 0]]),
        "b": jnp.array([[1.0], [0.0], [-9.0], [0.5]]),
    }

    def run(m):
        opt = make()
        extras = {"loss": _quadratic(m), "loss_fn": _quadratic} if needs_loss else {}
        opt.init(m, **extras)
        for _ in range(3):
            extras = {"loss": _quadratic(m), "loss_fn": _quadratic} if needs_loss else {}
            if name == "ReduceLROnPlateau":
                extras.pop("loss_fn")
            m = opt(m, jax.grad(_quadratic)(m), **extras)
        return m

    batched = jax.jit(jax.vmap(run))(starts)
    alone = jax.jit(run)
    for i in range(4):
        one = alone(jax.tree_util.tree_map(lambda x, i=i: x[i], starts))
        np.testing.assert_allclose(batched["w"][i], one["w"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(batched["b"][i], one["b"], rtol=1e-5, atol=1e-6)
