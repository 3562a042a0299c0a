"""Hyperparameters after construction, and bad calls that fail with the fix in the message.

Assigning a hyperparameter is checked and normalized as the constructor does;
weakly-typed parameters compile once after ``init``; ``opt(model, None)``, lazy
state in a loop carry, ``ReduceLROnPlateau.init`` without a loss and a restore
into a fresh optimizer fail at the call; ``flr.testing`` loads on first use;
``from_optax``'s injected hyperparameters are attributes; ``repr`` shows what
the user wrote; optimizers with schedules pickle.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import optax
import pytest

import flarejax as flr

O = flr.optim
S = flr.schedules


class Counted:
    """A jitted train step that counts its traces."""

    def __init__(self) -> None:
        self.traces = 0

        def step(opt, model, grads):
            self.traces += 1
            return opt, opt(model, grads)

        self.step = jax.jit(step)


def _model():
    return {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array([0.5])}


def _grads(model):
    return jax.tree.map(lambda x: 2.0 * x, model)


# -- assignment is checked as the constructor checks ---------------------------------


@pytest.mark.parametrize("bad", [-0.1, math.nan, "0.1", None], ids=repr)
def test_assignment_fails_as_the_constructor_does(bad):
    with pytest.raises((ValueError, TypeError)) as at_init:
        O.Adam(bad)
    opt = O.Adam(0.01)
    with pytest.raises(at_init.type) as at_set:
        opt.learning_rate = bad
    assert str(at_set.value) == str(at_init.value)
    assert "learning_rate" in str(at_set.value)
    assert float(opt.learning_rate) == pytest.approx(0.01)  # the old value is kept


def test_assignment_checks_every_validated_argument():
    opt = O.Adam(0.01)
    with pytest.raises(ValueError, match=r"^b1 must be in \[0, 1\), got 1\.5$"):
        opt.b1 = 1.5
    assert float(opt.b1) == pytest.approx(0.9)
    # Optional arguments: None is accepted where the constructor accepts it, and
    # the check applies although this SGD was built without momentum.
    sgd = O.SGD(0.1)
    with pytest.raises(ValueError, match=r"^momentum must be >= 0, got -1$"):
        sgd.momentum = -1
    sgd.momentum = 0.5
    sgd.momentum = None
    assert sgd.momentum is None
    plateau = O.ReduceLROnPlateau(O.SGD(0.1))
    with pytest.raises(ValueError, match=r"^factor must be in \(0, 1\), got 2"):
        plateau.factor = 2.0


def test_a_subclass_float_hyperparameter_must_stay_a_number():
    class Plain(O.Optimizer):  # no checks of its own
        def __init__(self, learning_rate: float) -> None:
            self.learning_rate = learning_rate

        def call_param(self, key, grad, **_):
            return self.learning_rate * grad

    opt = Plain(0.1)
    with pytest.raises(TypeError, match=r"^learning_rate must be a number, got str"):
        opt.learning_rate = "0.1"
    with pytest.raises(TypeError, match=r"^learning_rate must be a number, got None$"):
        opt.learning_rate = None
    opt.learning_rate = 0.2
    assert float(opt.learning_rate) == pytest.approx(0.2)


def test_constructor_rejects_none_for_a_number():
    with pytest.raises(TypeError, match=r"^learning_rate must be a number, got None$"):
        O.Adam(None)
    assert O.SGD(0.1, momentum=None).momentum is None


STRONG_SCALARS = {
    "jnp.float32": jnp.float32(0.01),
    "np.float32": np.float32(0.01),
    "np.array": np.array(0.01),
    "bfloat16 array": jnp.asarray(0.01, jnp.bfloat16),
    "bfloat16 scalar": ml_dtypes.bfloat16(0.01),
}


@pytest.mark.parametrize("name", list(STRONG_SCALARS))
def test_strong_scalars_become_the_weak_float32_of_a_python_float(name):
    value = STRONG_SCALARS[name]
    reference = jax.typeof(jnp.asarray(0.01))  # what a Python float becomes
    built = O.Adam(value)
    assigned = O.Adam(0.02)
    assigned.learning_rate = value
    for opt in (built, assigned):
        assert jax.typeof(opt.learning_rate) == reference
        assert jax.typeof(opt.learning_rate).weak_type
        # The value as given (a bfloat16 keeps its own rounding, no further one).
        assert float(opt.learning_rate) == np.float32(float(value))


def test_assigned_strong_scalars_do_not_recompile():
    model, counted, opt = _model(), Counted(), O.Adam(0.01)
    opt.init(model)
    for value in [0.01, *STRONG_SCALARS.values()]:
        opt.learning_rate = value
        opt, model = counted.step(opt, model, _grads(model))
    assert counted.traces == 1


def test_state_is_not_normalized():
    opt = O.ReduceLROnPlateau(O.SGD(0.1))
    opt.scale = jnp.float32(0.5)  # state, not an __init__ argument
    assert not jax.typeof(opt.scale).weak_type
    opt.opt.t = jnp.ones((), jnp.uint32)
    assert opt.opt.t.dtype == jnp.uint32


# -- weakly-typed parameters ------------------------------------------------------------


def test_weak_parameters_compile_once_after_init_and_match_optax():
    model = {"a": jnp.asarray(0.5), "b": jnp.full(4, 0.1)}
    assert all(jax.typeof(x).weak_type for x in model.values())

    def grads_of(m):
        return jax.grad(lambda m: m["a"] ** 2 + jnp.sum(m["b"] ** 2))(m)

    opt, counted = O.Adam(0.1), Counted()
    opt.init(model)
    ours, params = model, model
    tx = optax.adam(0.1)
    state = tx.init(params)
    for _ in range(3):
        opt, ours = counted.step(opt, ours, grads_of(ours))
        updates, state = tx.update(grads_of(params), state, params)
        params = optax.apply_updates(params, updates)
    assert counted.traces == 1
    assert all(jax.typeof(x).weak_type for x in ours.values())
    for k in model:
        np.testing.assert_allclose(ours[k], params[k], rtol=1e-5)


# -- bad calls fail at the call ----------------------------------------------------------


def test_none_gradients_raise_and_change_nothing():
    model = _model()
    opt = O.Adam(0.01)
    opt(model, _grads(model))
    before = jax.tree.map(np.asarray, jax.tree.leaves(opt))
    with pytest.raises(TypeError, match=r"grads is None.*jax\.grad\(loss_fn\)\(model\)"):
        opt(model, None)
    with pytest.raises(TypeError, match="grads is None"):
        jax.jit(lambda o, m: o(m, None))(opt, model)
    after = jax.tree.map(np.asarray, jax.tree.leaves(opt))
    assert int(opt.t) == 1
    for x, y in zip(before, after, strict=True):
        np.testing.assert_array_equal(x, y)


def _scan_steps(opt, model, n):
    def body(carry, _):
        o, m = carry
        return (o, o(m, _grads(m))), None

    return jax.lax.scan(body, (opt, model), None, length=n)[0]


@pytest.mark.parametrize("loop", ["scan", "fori_loop"])
def test_lazy_state_in_a_loop_carry_says_to_call_init(loop):
    model = _model()
    opt = O.SGD(0.1, momentum=0.9)
    with pytest.raises(TypeError, match=r"call opt\.init\(model\) before the loop"):
        if loop == "scan":
            _scan_steps(opt, model, 3)
        else:
            jax.lax.fori_loop(0, 3, lambda i, c: (c[0], c[0](c[1], _grads(c[1]))), (opt, model))


def test_scan_after_init_matches_eager_steps():
    model = _model()
    opt = O.SGD(0.1, momentum=0.9)
    opt.init(model)
    _, scanned = _scan_steps(opt, model, 3)
    eager, m = O.SGD(0.1, momentum=0.9), model
    for _ in range(3):
        m = eager(m, _grads(m))
    for k in model:
        np.testing.assert_allclose(scanned[k], m[k], rtol=1e-6)


def test_an_optimizer_made_inside_the_loop_builds_its_state_there():
    def body(m, _):
        return O.SGD(0.1, momentum=0.9)(m, _grads(m)), None

    out = jax.lax.scan(body, _model(), None, length=2)[0]
    np.testing.assert_allclose(out["w"], _model()["w"] * 0.8**2, rtol=1e-6)


def test_plateau_init_without_loss_says_to_pass_it():
    opt = O.ReduceLROnPlateau(O.SGD(0.1))
    with pytest.raises(ValueError, match=r"call opt\.init\(model, loss=loss\)"):
        opt.init(_model())
    assert "_specs" not in opt.__dict__  # unchanged
    opt.init(_model(), loss=0.0)
    assert "_specs" in opt.__dict__


def test_restore_into_a_fresh_optimizer_says_to_call_init(tmp_path):
    pytest.importorskip("orbax.checkpoint")
    model = _model()
    opt = O.Adam(0.01)
    opt.init(model)
    flr.sharding.save(tmp_path / "ckpt", opt, model)
    with pytest.raises(ValueError, match=r"Adam in like has no state yet: call opt\.init\(model\)"):
        flr.sharding.restore(tmp_path / "ckpt", (O.Adam(0.01), model))
    fresh = O.Adam(0.01)
    fresh.init(model)
    restored, _ = flr.sharding.restore(tmp_path / "ckpt", (fresh, model))
    np.testing.assert_array_equal(restored.m["w"], opt.m["w"])


# -- small gaps --------------------------------------------------------------------------


def test_testing_is_an_attribute_loaded_on_first_use():
    code = (
        "import sys, flarejax as flr\n"
        "assert 'flarejax.testing' not in sys.modules\n"
        "assert callable(flr.testing.check_optimizer)\n"
        "assert 'testing' in flr.__all__\n"
        "bad = [m for m in ('optax', 'pytest', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = flr.nothing


def test_from_optax_injected_hyperparameters_are_attributes():
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3, b1=0.8)
    opt = O.from_optax(tx)
    assert float(opt.hyperparameters()["learning_rate"]) == pytest.approx(1e-3)
    with pytest.raises(AttributeError, match=r"call opt\.init\(model\) before setting"):
        opt.learning_rate = 1e-4
    model, counted = _model(), Counted()
    opt.init(model)
    params, state = model, tx.init(model)
    for lr in (1e-3, 1e-1, 0.5):
        opt.learning_rate = lr
        state.hyperparams["learning_rate"] = jnp.asarray(lr)  # the optax way
        opt, model = counted.step(opt, model, _grads(model))
        updates, state = tx.update(_grads(params), state, params)
        params = optax.apply_updates(params, updates)
    assert counted.traces == 1
    assert float(opt.learning_rate) == pytest.approx(0.5)
    assert float(opt.hyperparameters()["b1"]) == pytest.approx(0.8)
    for k in params:
        np.testing.assert_allclose(model[k], params[k], rtol=1e-6)
    with pytest.raises(TypeError, match="learning_rate must be a number"):
        opt.learning_rate = None
    with pytest.raises(ValueError, match=r"learning_rate must have shape \(\)"):
        opt.learning_rate = jnp.ones(2)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = opt.nothing


def test_from_optax_scheduled_injected_hyperparameter_is_not_settable():
    inner = optax.inject_hyperparams(optax.sgd)(learning_rate=optax.linear_schedule(1.0, 0.0, 4))
    opt = O.from_optax(optax.chain(optax.clip(1.0), inner))
    opt.init(_model())
    assert float(opt.hyperparameters()["1.learning_rate"]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="follows a schedule"):
        setattr(opt, "1.learning_rate", 0.1)


def test_plateau_reports_the_effective_learning_rate():
    opt = O.ReduceLROnPlateau(O.SGD(0.01), factor=0.5, patience=0)
    model = _model()
    for _ in range(3):  # a constant loss: no improvement after the first step
        model = opt(model, _grads(model), loss=1.0)
    hp = opt.hyperparameters()
    scale = float(opt.scale)
    assert scale < 1  # reduced
    assert float(hp["opt.learning_rate"]) == pytest.approx(0.01)
    assert float(hp["learning_rate"]) == pytest.approx(0.01 * scale)
    assert float(hp["scale"]) == scale


def test_repr_shows_hyperparameters_as_written():
    text = repr(O.Adam(0.01, b2=0.999, eps=1e-8))
    assert "learning_rate=0.01," in text and "b2=0.999," in text and "eps=1e-08," in text
    assert "0.00999" not in text
    assert "t=0," in text


SCHEDULES = {
    "constant": lambda: S.constant(0.1),
    "cosine_decay": lambda: S.cosine_decay(0.1, 10),
    "exponential_decay": lambda: S.exponential_decay(0.1, 3, 0.5, end_value=0.02),
    "piecewise_constant": lambda: S.piecewise_constant(0.1, {2: 0.5}),
    "piecewise_interpolate": lambda: S.piecewise_interpolate("cosine", 0.1, {4: 0.5}),
    "linear_onecycle": lambda: S.linear_onecycle(10, 0.1),
    "warmup_cosine_decay": lambda: S.warmup_cosine_decay(0.0, 0.1, 2, 10),
    "warmup_exponential_decay": lambda: S.warmup_exponential_decay(0.0, 0.1, 2, 3, 0.5),
    "warmup_stable_decay": lambda: S.warmup_stable_decay(0.1, 2, 2, 4, decay_type="sqrt"),
    "sgdr": lambda: S.sgdr(
        [{"init_value": 0.0, "peak_value": 0.1, "decay_steps": 5, "warmup_steps": 1}] * 2
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_pickle_and_stay_usable_under_jit_and_vmap(name):
    schedule = SCHEDULES[name]()
    again = pickle.loads(pickle.dumps(schedule))
    counts = jnp.arange(12)
    eager = np.array([schedule(int(c)) for c in counts])
    np.testing.assert_allclose(jax.jit(jax.vmap(again))(counts), eager, rtol=1e-5, atol=1e-7)
    assert hash(schedule) == hash(schedule) and schedule == schedule


def test_an_optimizer_with_a_schedule_pickles_and_continues():
    model = _model()
    opt = O.Adam(S.warmup_cosine_decay(0.0, 0.1, 2, 10))
    model = opt(model, _grads(model))
    copy = pickle.loads(pickle.dumps(opt))
    a, b = opt(model, _grads(model)), copy(model, _grads(model))
    for k in model:
        np.testing.assert_array_equal(a[k], b[k])
    assert float(copy.hyperparameters()["learning_rate"]) == float(
        opt.hyperparameters()["learning_rate"]
    )
