"""Habits brought from torch.optim work, or fail at the call with the fix in the message.

Arrays the user can still reach are never donated by an eager step; ``minimize``
with a new closure every step compiles once and keeps nothing alive; recompiles
caused by a changing static value warn; an optimizer closed over inside the
user's ``jax.jit`` and concretization inside a hook fail with a clear message.
"""

from __future__ import annotations

import copy
import functools
import gc
import threading
import warnings
import weakref

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


@pytest.mark.parametrize("how", ["call", "minimize with a closure"])
def test_unshared_state_is_still_donated(how):
    opt, model, x = O.Adam(0.1), {**_model(), "name": "static"}, jnp.ones(3)

    def step(model):
        if how == "call":
            return opt(model, {**_grads(), "name": None})
        return opt.minimize(lambda m: jnp.sum(m["w"] @ x), model)[0]

    for _ in range(2):
        model = step(model)
    buffer = opt.m["w"].unsafe_buffer_pointer()
    model = step(model)
    # Donated: the new state reuses the old buffer (XLA updates it in place).
    assert opt.m["w"].unsafe_buffer_pointer() == buffer


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


# -- 2. minimize with a new closure every step ---------------------------------------------


def _loss(model, batch, scale=1.0):
    return scale * jnp.sum((model["w"] @ batch["x"] - batch["y"]) ** 2) + jnp.sum(model["b"] ** 2)


def _batch(i):
    r = np.random.default_rng(i)
    return {"x": jnp.asarray(r.normal(size=(3, 2)), jnp.float32), "y": jnp.zeros((4, 2))}


def _compiles():
    from flarejax._core.eager import _run

    return _run._cache_size()


@pytest.mark.parametrize("style", ["lambda", "partial", "default", "nested def"])
def test_new_closure_every_step_compiles_once_and_is_released(style):
    def make(batch):
        if style == "lambda":
            return lambda m: _loss(m, batch)
        if style == "partial":
            return functools.partial(_loss, batch=batch)
        if style == "default":
            return lambda m, batch=batch: _loss(m, batch)

        def loss(m):
            return _loss(m, batch, scale=2)  # a static capture besides the batch

        return loss

    opt, model = O.Adam(0.05), _model()
    for i in range(2):  # the first step builds the state: the second compiles again
        model, _ = opt.minimize(make(_batch(i)), model)
    before = _compiles()
    refs = []
    for i in range(2, 6):
        fn = make(_batch(i))
        refs.append(weakref.ref(fn))
        model, loss = opt.minimize(fn, model)
        del fn
    assert _compiles() == before  # the same code: no recompilation
    gc.collect()
    assert all(r() is None for r in refs)  # no closure (nor its batch) kept alive

    # The same result as passing the batch explicitly to a top-level function.
    ref_opt, ref_model = O.Adam(0.05), _model()
    for i in range(6):
        scale = 2 if style == "nested def" else 1.0
        ref_model, ref_loss = ref_opt.minimize(_loss, ref_model, _batch(i), scale)
    np.testing.assert_allclose(np.asarray(model["w"]), np.asarray(ref_model["w"]), rtol=1e-6)
    np.testing.assert_allclose(float(loss), float(ref_loss), rtol=1e-6)


def test_closure_static_captures_stay_static():
    opt, model = O.SGD(0.1), _model()
    opt.init(model)
    shapes = []

    def make(n):
        def loss(m):
            shapes.append(n)  # runs while tracing only
            return jnp.sum(m["w"][:n] ** 2)  # n must be a Python int here

        return loss

    for n in (1, 2, 2, 1):
        model, _ = opt.minimize(make(n), model)
    assert shapes == [1, 2]  # one compilation per value of the captured int


# -- 3. recompiles are never silent ------------------------------------------------------------


class _Counting(O.Optimizer):
    def __init__(self):
        self.learning_rate = 0.1
        self.count = 0

    def call_model(self, grads, **_):
        self.count += 1  # a Python int: static, a new value every step
        return grads

    def call_param(self, key, grad, *, param, **_):
        return self.learning_rate * grad


def test_python_int_counter_warns_once_after_the_second_recompile():
    opt = _Counting()
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # compiles with count 0, recompiles with count 1: no warning
            model = opt(model, _grads())
        assert not [w for w in caught if issubclass(w.category, flr.RecompileWarning)]
        for _ in range(4):  # recompiles with count 2: warns, once
            model = opt(model, _grads())
    found = [w for w in caught if issubclass(w.category, flr.RecompileWarning)]
    assert len(found) == 1
    message = str(found[0].message)
    assert "_Counting.count changed from 1 to 2" in message
    assert "jnp.asarray" in message


def test_torch_style_reset_of_the_step_counter_warns():
    opt = O.Adam(0.1)
    model = _stepped(opt)
    opt.t = 0  # torch habit: a Python int, now static
    with pytest.warns(flr.RecompileWarning, match=r"Adam\.t changed from 0 to 1"):
        for _ in range(3):
            model = opt(model, _grads())


def test_new_schedule_function_every_step_warns():
    opt = O.SGD(0.1)
    model = _stepped(opt)
    pattern = r"SGD\.learning_rate changed from <function.*Assign the function once"
    with pytest.warns(flr.RecompileWarning, match=pattern):
        for i in range(3):
            opt.learning_rate = lambda count, i=i: 0.1 / (i + 1)  # a new function each time
            model = opt(model, _grads())


def test_new_array_value_does_not_warn():
    opt = O.Adam(0.1)
    model = _stepped(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error", flr.RecompileWarning)
        for i in range(4):
            opt.learning_rate = 0.1 / (i + 1)
            opt.t = jnp.asarray(i, jnp.uint32)
            model = opt(model, _grads())


# -- 4. bad calls fail at the call -----------------------------------------------------------


def test_optimizer_closed_over_by_jit_is_refused_and_stays_usable():
    opt = O.Adam(0.1)
    model = _stepped(opt)
    t, m = int(opt.t), np.asarray(opt.m["w"]).copy()

    @jax.jit
    def train_step(model):
        return opt(model, _grads())

    with pytest.raises(RuntimeError, match=r"(?s)closed over.*def train_step\(opt, model"):
        train_step(model)
    assert int(opt.t) == t  # unchanged, no tracer left behind
    np.testing.assert_array_equal(np.asarray(opt.m["w"]), m)
    model = opt(model, _grads())
    assert int(opt.t) == t + 1


def test_optimizer_made_inside_jit_may_be_stepped_there():
    # Built in the traced function (as jax.jit(tx.init) builds one): it is the
    # function's own, not a closed-over optimizer.
    def step(model):
        opt = O.Adam(0.1)
        return opt, opt(model, _grads())

    opt, _ = jax.jit(step)(_model())
    assert int(opt.t) == 1
    tx = O.Adam(0.1).to_optax()
    state = jax.jit(tx.init)(_model())
    assert state.m.keys() == {"w", "b"}


def test_optimizer_passed_into_jit_still_works():
    opt = O.Adam(0.1)
    model = _model()
    step = jax.jit(lambda o, m: (o, o(m, _grads())))
    for _ in range(2):
        opt, model = step(opt, model)
    assert int(opt.t) == 2


class _Peeks(O.Optimizer):
    def __init__(self):
        self.t = jnp.zeros((), jnp.int32)

    def call_model(self, grads, **_):
        self.t = self.t + 1
        if int(self.t) > 100:  # concretization: the hook runs traced
            return grads
        return grads


def test_concretization_in_a_hook_names_the_hook():
    opt = _Peeks()
    with pytest.raises(TypeError) as info:
        opt(_model(), _grads())
    message = str(info.value)
    assert "_Peeks.call_model" in message
    assert "traced" in message and "_run" not in message
    assert int(opt.t) == 0


class _KeyList(O.Optimizer):
    def __init__(self):
        self.seen = []  # state holding strings: not what jax.jit can carry

    def call_param(self, key, grad, *, param, **_):
        if key not in self.seen:
            self.seen.append(key)
        return 0.1 * grad


def test_non_array_state_fails_the_same_eagerly_and_under_jit():
    pattern = r"_KeyList\.seen\[0\] is a str .*Keep other values in a tuple"
    opt = _KeyList()
    with pytest.raises(TypeError, match=pattern):
        opt(_model(), _grads())
    assert opt.seen == []
    with pytest.raises(TypeError, match=pattern):
        jax.jit(lambda o, m: (o, o(m, _grads())))(_KeyList(), _model())
