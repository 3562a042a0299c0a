"""``opt(model, grads, donate=True)``: the eager step writes into the old model's buffers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr


def _model():
    rng = np.random.default_rng(0)
    return {
        "w": jnp.asarray(rng.normal(size=(16, 8)), jnp.float32),
        "b": jnp.asarray(rng.normal(size=(8,)), jnp.float32),
        "name": "mlp",  # a non-array leaf travels alongside
    }


def _grads(model, i):
    return {"w": jnp.cos(model["w"] * (i + 1)), "b": jnp.sin(model["b"] * (i + 1)), "name": None}


def _copy(model):
    return jax.tree.map(lambda x: jnp.copy(x) if isinstance(x, jax.Array) else x, model)


def test_donated_steps_reuse_the_buffers_and_equal_plain_steps():
    donating, plain = flr.optim.Adam(0.1), flr.optim.Adam(0.1)
    donated, kept = _model(), _model()
    donating.init(donated)
    for i in range(4):
        old = donated
        addresses = {k: old[k].unsafe_buffer_pointer() for k in ("w", "b")}
        grads = _grads(donated, i)
        donated = donating(donated, grads, donate=True)
        kept = plain(kept, _grads(kept, i))
        assert old["w"].is_deleted() and old["b"].is_deleted()
        assert {k: donated[k].unsafe_buffer_pointer() for k in ("w", "b")} == addresses
        assert donated["name"] == "mlp"
        for k in ("w", "b"):
            np.testing.assert_array_equal(donated[k], kept[k])
        assert not grads["w"].is_deleted()  # the gradients are never donated


def _loss(model, x):
    return jnp.mean((x @ model["w"] + model["b"]) ** 2)


def test_minimize_donates_the_model():
    opt, ref = flr.optim.Adam(0.1), flr.optim.Adam(0.1)
    model, kept = _model(), _model()
    x = jnp.ones((4, 16))
    for _ in range(3):
        old = model
        model, loss = opt.minimize(_loss, model, x, donate=True)
        kept, ref_loss = ref.minimize(_loss, kept, x)
        assert old["w"].is_deleted()
        np.testing.assert_array_equal(model["w"], kept["w"])
        assert float(loss) == float(ref_loss)
    assert not x.is_deleted()


def test_a_shared_or_deleted_array_is_refused():
    model = _model()
    opt = flr.optim.Adam(0.1)
    with pytest.raises(ValueError, match=r"\['w'\] is also held by another argument"):
        opt(model, {**_grads(model, 0), "w": model["w"]}, donate=True)
    tied = {"a": model["w"], "b": model["w"]}
    with pytest.raises(ValueError, match=r"also held by another leaf of the model"):
        opt(tied, {"a": model["w"] * 0, "b": model["w"] * 0}, donate=True)
    assert not model["w"].is_deleted()  # refused before anything ran
    new = opt(model, _grads(model, 0), donate=True)
    with pytest.raises(ValueError, match=r"deleted already"):
        opt(model, _grads(new, 0), donate=True)
    with pytest.raises(TypeError, match="donate must be True or False"):
        opt(new, _grads(new, 0), donate="yes")


class KeepsStart(flr.optim.Optimizer):
    """State that is the parameter itself: that array is not donated."""

    def __init__(self):
        self.start = {}

    def call_param(self, key, grad, *, param, **_):
        if key not in self.start:
            self.start[key] = param
        return 0.1 * grad


def test_an_array_the_state_holds_is_not_donated():
    model = _copy(_model())
    opt = KeepsStart()
    opt.init(model)
    assert opt.start["w"] is model["w"]
    new = opt(model, _grads(model, 0), donate=True)
    assert not model["w"].is_deleted()  # kept: the optimizer's state holds it
    np.testing.assert_array_equal(opt.start["w"], model["w"])
    newer = opt(new, _grads(new, 1), donate=True)
    assert new["w"].is_deleted()
    assert newer["w"].shape == (16, 8)


def test_donate_inside_jit_is_the_callers_business():
    opt, model = flr.optim.Adam(0.1), _copy(_model())
    model.pop("name")
    step = jax.jit(lambda o, m, g: (o, o(m, g, donate=True)))
    opt, new = step(opt, model, {"w": model["w"] * 0 + 1, "b": model["b"] * 0 + 1})
    assert not model["w"].is_deleted()
    assert new["w"].shape == (16, 8)
