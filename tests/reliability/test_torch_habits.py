"""Habits brought from torch.optim work, or fail at the call with the fix in the message.

Arrays the user can still reach are never donated by an eager step; ``minimize``
with a new closure every step compiles once and keeps nothing alive; recompiles
caused by a changing static value warn; an optimizer closed over inside the
user's ``jax.jit`` and concretization inside a hook fail with a clear message.
"""

from __future__ import annotations

import copy
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr

O = flr.optim


def _model():
    return {"w": jnp.ones((4, 3)), "b": jnp.ones(3)}


def _grads():
    return {"w": jnp.full((4, 3), 0.5), "b": jnp.full(3, 0.5)}


def _stepped(opt, n=2):
    model = _model()
    for _ in range(n):
        model = opt(model, _grads())
    return model


# -- 1. arrays a user can still reach are never donated ---------------------------------


def test_logged_state_array_keeps_its_value():
    opt = O.Adam(0.1)
    _stepped(opt)
    hist = [opt.m["w"]]
    before = np.asarray(hist[0]).copy()
    _stepped(opt, 2)
    np.testing.assert_array_equal(np.asarray(hist[0]), before)
    assert not np.array_equal(np.asarray(opt.m["w"]), before)


def test_copied_state_dict_keeps_its_values():
    opt = O.Adam(0.1)
    _stepped(opt)
    saved = dict(opt.m)
    before = np.asarray(saved["w"]).copy()
    _stepped(opt, 2)
    np.testing.assert_array_equal(np.asarray(saved["w"]), before)


def test_tree_map_snapshot_allows_rolling_back():
    opt = O.Adam(0.1)
    model = _stepped(opt)
    prev = jax.tree.map(lambda x: x, opt)
    expected = np.asarray(prev.v["w"]).copy()
    model = opt(model, _grads())
    model = opt(model, _grads())
    np.testing.assert_array_equal(np.asarray(prev.v["w"]), expected)
    opt = prev  # roll back, then keep training from there
    _stepped(opt, 2)
    assert int(opt.t) == 4


def test_state_dict_shared_between_two_optimizers():
    a, b = O.Adam(0.1), O.Adam(0.1)
    _stepped(a)
    _stepped(b)
    b.m = a.m
    before = np.asarray(b.m["w"]).copy()
    _stepped(a, 2)
    np.testing.assert_array_equal(np.asarray(b.m["w"]), before)
    _stepped(b, 2)  # b still steps from the shared values
    assert int(b.t) == 4


def test_reading_the_ema_directly():
    ema = O.EMA(O.SGD(0.1), 0.9)
    _stepped(ema)
    avg = ema.ema
    before = np.asarray(avg["w"]).copy()
    _stepped(ema, 2)
    np.testing.assert_array_equal(np.asarray(avg["w"]), before)


def test_held_nested_optimizer_keeps_its_state():
    ema = O.EMA(O.Adam(0.1), 0.9)
    _stepped(ema)
    inner = ema.opt
    before = np.asarray(inner.m["w"]).copy()
    _stepped(ema, 2)
    np.testing.assert_array_equal(np.asarray(inner.m["w"]), before)


@pytest.mark.parametrize("which", ["original", "copy"])
def test_shallow_copy_steps_independently(which):
    opt = O.Adam(0.1)
    _stepped(opt)
    c = copy.copy(opt)
    assert c.m is not opt.m  # its own containers
    first, second = (opt, c) if which == "original" else (c, opt)
    _stepped(first, 2)
    _stepped(second, 3)
    assert int(first.t) == 4 and int(second.t) == 5
    reference = O.Adam(0.1)
    _stepped(reference, 5)
    np.testing.assert_allclose(np.asarray(second.m["w"]), np.asarray(reference.m["w"]))


def test_deep_copy_steps_independently():
    opt = O.Adam(0.1)
    _stepped(opt)
    c = copy.deepcopy(opt)
    _stepped(opt, 2)
    _stepped(c, 1)
    assert int(opt.t) == 4 and int(c.t) == 3


def test_unshared_state_is_still_donated():
    opt = O.Adam(0.1)
    _stepped(opt)
    w = opt.m["w"]
    buffer = w.unsafe_buffer_pointer()
    del w
    _stepped(opt, 1)
    # Donated: the new state reuses the old buffer (XLA updates it in place).
    assert opt.m["w"].unsafe_buffer_pointer() == buffer or jax.default_backend() != "cpu"


def test_two_threads_stepping_one_optimizer():
    opt = O.Adam(0.01)
    model = _model()
    opt.init(model)
    errors: list[BaseException] = []

    def train():
        try:
            for _ in range(20):
                opt(model, _grads())
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=train) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert int(opt.t) == 40
