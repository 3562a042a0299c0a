"""Decoupled weight decay, shared by every ``*W`` optimizer: mask and ``decouple_from_lr``."""

import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr

DECOUPLED = {
    "AdamW": lambda lr, **kw: flr.optim.AdamW(lr, **kw),
    "AdamaxW": lambda lr, **kw: flr.optim.AdamaxW(lr, **kw),
    "NAdamW": lambda lr, **kw: flr.optim.NAdamW(lr, **kw),
    "LAMB": lambda lr, **kw: flr.optim.LAMB(lr, **kw),
    "Lion": lambda lr, **kw: flr.optim.Lion(lr, **kw),
    "Adan": lambda lr, **kw: flr.optim.Adan(lr, **kw),
    "AdEMAMix": lambda lr, **kw: flr.optim.AdEMAMix(lr, **kw),
}


def _grads(steps):
    rng = np.random.default_rng(0)
    return [{"w": rng.normal(size=(3, 2)), "b": rng.normal(size=(2,))} for _ in range(steps)]


def _run(opt, model, grads):
    model = {k: jnp.asarray(v, jnp.float32) for k, v in model.items()}
    for g in grads:
        model = opt(model, {k: jnp.asarray(v, jnp.float32) for k, v in g.items()})
    return {k: np.asarray(v, np.float64) for k, v in model.items()}


def _adamw_reference(lr, weight_decay, model, grads, *, fully, mask=lambda key: True):
    """AdamW in float64 NumPy; ``fully``: the decay is scaled by lr(t) / lr(0), not lr(t)."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    p = {k: np.asarray(v, np.float64) for k, v in model.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t, g in enumerate(grads, start=1):
        eta = lr(t - 1)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            step = eta * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + eps)
            if mask(k):
                step = step + (eta / lr(0) if fully else eta) * weight_decay * p[k]
            p[k] = p[k] - step
    return p


@pytest.mark.parametrize("fully", [False, True])
def test_adamw_decay_matches_float64_reference(fully):
    def lr(count):
        return 0.05 * 0.8**count

    model = {"w": np.linspace(-1.0, 1.0, 6).reshape(3, 2), "b": np.array([0.5, -2.0])}
    grads = _grads(12)
    opt = flr.optim.AdamW(lr, weight_decay=0.3, mask="w", decouple_from_lr=fully)
    actual = _run(opt, model, grads)
    expected = _adamw_reference(lr, 0.3, model, grads, fully=fully, mask=lambda k: k == "w")
    for k in model:
        np.testing.assert_allclose(actual[k], expected[k], rtol=2e-5, atol=2e-6)


def test_fully_decoupled_decay_is_independent_of_the_learning_rate():
    # Only the decay term changes: at lr(0) = 1 the two modes are the same.
    model = {"w": np.ones((3, 2)), "b": np.array([1.0, -1.0])}
    grads = _grads(5)
    a = _run(flr.optim.AdamW(0.1, weight_decay=0.5, decouple_from_lr=True), model, grads)
    b = _run(flr.optim.AdamW(0.1, weight_decay=5.0), model, grads)
    for k in model:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(DECOUPLED))
def test_every_decoupled_optimizer_takes_mask_and_decouple_from_lr(name):
    # With a constant learning rate eta, decouple_from_lr=True with weight decay
    # lambda is the plain decay with lambda / eta; the mask leaves "b" undecayed.
    make = DECOUPLED[name]
    model = {"w": np.linspace(0.5, 1.5, 6).reshape(3, 2), "b": np.array([1.0, -1.0])}
    grads = _grads(4)
    lr = 0.25
    fully = _run(make(lr, weight_decay=0.1, mask="w", decouple_from_lr=True), model, grads)
    plain = _run(make(lr, weight_decay=0.1 / lr, mask="w"), model, grads)
    undecayed = _run(make(lr, weight_decay=0.0), model, grads)
    for k in model:
        np.testing.assert_allclose(fully[k], plain[k], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fully["b"], undecayed["b"], rtol=1e-6)
    assert not np.allclose(fully["w"], undecayed["w"])
