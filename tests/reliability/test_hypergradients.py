"""Differentiating through optimizer steps with respect to the learning rate.

The learning rate is a leaf of the optimizer's PyTree (a weakly-typed scalar), so
``jax.grad`` of the loss after a few steps, taken with respect to the optimizer,
has a ``learning_rate`` entry: the hypergradient. It must match a central
finite difference; float64 (``jax.enable_x64``) makes the comparison tight.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr

O = flr.optim
LR = 0.1
STEPS = 3

CASES = {
    "SGD": lambda: O.SGD(LR),
    "SGD-nesterov": lambda: O.SGD(LR, momentum=0.9, nesterov=True),
    "Adam": lambda: O.Adam(LR),
    "AdamW": lambda: O.AdamW(LR, weight_decay=0.1),
    "RMSProp": lambda: O.RMSProp(LR),
    "Lion": lambda: O.Lion(LR),
    "Adagrad": lambda: O.Adagrad(LR),
    "Chain": lambda: O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(LR)),
}


def _lr_owner(opt):
    """The optimizer that holds the learning rate (the last member of a Chain)."""
    return opt.opts[-1] if isinstance(opt, O.Chain) else opt


def _problem():
    r = np.random.default_rng(0)
    model = {"w": jnp.asarray(r.normal(size=(3, 2))), "b": jnp.zeros(2)}
    target = jnp.asarray(r.normal(size=(3, 2)))

    def loss(m):
        return jnp.sum((m["w"] - target) ** 2) + jnp.sum((m["b"] - 1.0) ** 2)

    def loss_after_steps(opt, model):
        for _ in range(STEPS):
            model = opt(model, jax.grad(loss)(model))
        return loss(model)

    return model, loss_after_steps


@pytest.mark.parametrize("name", sorted(CASES))
def test_hypergradient_matches_finite_difference(name):
    with jax.enable_x64(True):
        model, loss_after_steps = _problem()
        opt = CASES[name]()
        # Integer leaves (step counters) get float0 gradients.
        grads = jax.jit(jax.grad(loss_after_steps, allow_int=True))(opt, model)
        hypergrad = _lr_owner(grads).learning_rate
        assert hypergrad.dtype == jnp.float64 and hypergrad.shape == ()

        h = 1e-6
        value = jax.jit(loss_after_steps)

        def at(lr):
            o = CASES[name]()
            _lr_owner(o).learning_rate = lr
            return value(o, model)

        fd = (at(LR + h) - at(LR - h)) / (2 * h)
        np.testing.assert_allclose(float(hypergrad), float(fd), rtol=1e-6)
        assert abs(float(fd)) > 1e-3  # the learning rate matters here


def test_meta_learning_the_learning_rate_lowers_the_loss():
    """A few steps of gradient descent on the learning rate itself, float32."""
    model, loss_after_steps = _problem()
    model = jax.tree_util.tree_map(lambda x: x.astype(jnp.float32), model)

    @jax.jit
    def meta_step(lr):
        value, g = jax.value_and_grad(lambda lr: loss_after_steps(O.SGD(lr), model))(lr)
        return lr - 1e-3 * g, value

    lr = jnp.float32(0.01)
    first = None
    for _ in range(20):
        lr, value = meta_step(lr)
        first = value if first is None else first
    assert float(value) < 0.5 * float(first)
    assert 0.01 < float(lr) < 0.5
