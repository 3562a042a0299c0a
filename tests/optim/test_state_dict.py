import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import models, quadratic_grads

import flarejax as flr
from flarejax.optim._interop._optax import from_optax
from flarejax.optim._interop._state_dict import FORMAT_VERSION, load_state_dict, state_dict


class UserLookahead(flr.optim.Optimizer):
    """A user's wrapper around another optimizer (nested state, a static int)."""

    def __init__(self, inner, sync_period=2, alpha=0.5):
        self.inner = inner
        self.sync_period = sync_period
        self.alpha = alpha
        self.slow = {}
        self.t = jnp.zeros((), jnp.uint32)

    def call_model(self, grads, **extras):
        self.t = self.t + 1
        return self.inner.call_model(grads, **extras)

    def call_param(self, key, grad, *, param, **extras):
        fast = param - self.inner.call_param(key, grad, param=param, **extras)
        if key not in self.slow:
            self.slow[key] = param
        sync = self.t % self.sync_period == 0
        self.slow[key] = jnp.where(
            sync, self.slow[key] + self.alpha * (fast - self.slow[key]), self.slow[key]
        )
        return param - jnp.where(sync, self.slow[key], fast)


class BestLoss(flr.optim.Optimizer):
    """Needs the loss of every step: its state is laid out with a stand-in loss."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate
        self.best = {}

    def call_model(self, grads, *, loss, **_):
        if "loss" not in self.best:
            self.best["loss"] = jnp.full((), jnp.inf)
        self.best["loss"] = jnp.minimum(self.best["loss"], loss)
        return grads

    def call_param(self, key, grad, **_):
        return self.learning_rate * self.best["loss"] * grad


SCHEDULE = optax.linear_schedule(0.05, 0.001, 40)
TX = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adamw)(0.01))

MAKERS = {
    "sgd": lambda: flr.optim.SGD(0.05, momentum=0.9, nesterov=True),
    "adam_schedule": lambda: flr.optim.Adam(SCHEDULE),
    "adamw": lambda: flr.optim.AdamW(0.01, weight_decay=0.1),
    "lookahead": lambda: UserLookahead(flr.optim.Adam(0.01), sync_period=3),
    "optax": lambda: from_optax(TX),
    "needs_loss": lambda: BestLoss(0.01),
}


def _train(opt, params, start, stop, step):
    for i in range(start, stop):
        opt, params = step(opt, params, quadratic_grads(params, i))
    return opt, params


def _loss(params):
    return sum(jnp.sum(x**2) for x in jax.tree.leaves(params))


def _jit_step():
    traces = []

    @jax.jit
    def step(opt, params, grads):
        traces.append(1)
        return opt, opt(params, grads, loss=_loss(params))

    return step, traces


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert type(a[k]) is type(b[k]), k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("name", list(MAKERS))
def test_load_continues_bit_for_bit_without_recompiling(name):
    make = MAKERS[name]
    params = models()["nested"]
    step, traces = _jit_step()
    opt, straight = _train(make(), params, 0, 12, step)

    opt, mid = _train(make(), params, 0, 6, step)
    d = state_dict(opt)
    fresh = make()
    if name == "optax":
        fresh.init(params)  # its state follows the model's structure
    load_state_dict(fresh, d)
    _assert_same_state(state_dict(fresh), d)
    assert jax.tree.structure(fresh) == jax.tree.structure(opt)
    n = len(traces)
    _, resumed = _train(fresh, mid, 6, 12, step)
    assert len(traces) == n  # the resumed optimizer reuses the compiled step
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)


def test_eager_round_trip_and_bfloat16():
    params = models(jnp.bfloat16)["flat"]
    eager = lambda o, p, g: (o, o(p, g))  # noqa: E731
    _, straight = _train(flr.optim.Adam(0.01), params, 0, 6, eager)
    opt, mid = _train(flr.optim.Adam(0.01), params, 0, 3, eager)
    d = state_dict(opt)
    assert d["m/w"].dtype == jnp.bfloat16 and d["_specs/w"] == "bfloat16[5,3]"
    fresh = flr.optim.Adam(0.5)
    load_state_dict(fresh, d)
    _, resumed = _train(fresh, mid, 3, 6, eager)
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)


def test_state_dict_is_flat_readable_and_a_copy():
    params = {"encoder": {"layers": [{"kernel": jnp.ones((2, 2))}]}}
    opt = UserLookahead(flr.optim.Adam(0.01))
    opt(params, params)
    d = state_dict(opt)
    assert d["__class__"] == "UserLookahead" and d["__format__"] == FORMAT_VERSION
    assert d["inner/__class__"] == "Adam"
    assert d["sync_period"] == 2 and isinstance(d["alpha"], float)
    assert d["inner/learning_rate"] == pytest.approx(0.01)
    assert d["_specs/encoder.layers.0.kernel"] == "float32[2,2]"
    assert type(d["t"]) is np.ndarray and d["t"].dtype == np.uint32
    m = d["inner/m/encoder.layers.0.kernel"]
    assert type(m) is np.ndarray and m.shape == (2, 2)
    assert all(isinstance(v, (np.ndarray, bool, int, float, str)) for v in d.values())
    before = m.copy()
    opt(params, params)
    np.testing.assert_array_equal(m, before)


def test_load_into_an_already_initialised_optimizer_and_static_round_trip():
    params = models()["flat"]
    opt = flr.optim.SGD(0.1, momentum=0.9, nesterov=True)
    opt(params, params)
    target = flr.optim.SGD(0.3, momentum=0.5, nesterov=False)
    target.init(params)
    load_state_dict(target, state_dict(opt))
    assert target.nesterov is True and float(target.learning_rate) == pytest.approx(0.1)
    _assert_same_state(state_dict(target), state_dict(opt))


# -- errors: each names what differs, and leaves the optimizer untouched -------------


def _trained(make=lambda: flr.optim.Adam(0.01), params=None):
    params = models()["flat"] if params is None else params
    opt = make()
    opt(params, params)
    return opt, state_dict(opt)


def _rejects(opt, d, match):
    before = state_dict(opt)
    with pytest.raises(ValueError, match=match):
        load_state_dict(opt, d)
    _assert_same_state(state_dict(opt), before)


def test_wrong_class():
    _, d = _trained()
    _rejects(flr.optim.SGD(0.1), d, r"cannot load the state of Adam into SGD")
    _, d = _trained(lambda: UserLookahead(flr.optim.Adam(0.01)))
    _rejects(
        UserLookahead(flr.optim.SGD(0.1)),
        d,
        r"'inner/__class__': cannot load the state of Adam into SGD",
    )


def test_missing_and_extra_keys():
    _, d = _trained()
    _rejects(
        flr.optim.Adam(0.01), {k: v for k, v in d.items() if k != "v/w"}, r"missing keys \['v/w'\]"
    )
    _rejects(flr.optim.Adam(0.01), {**d, "m/zzz": np.zeros(3)}, r"unexpected keys \['m/zzz'\]")


def test_shape_and_dtype_mismatch():
    opt, d = _trained()
    _rejects(
        opt,
        {**d, "m/w": np.zeros((3, 5), np.float32)},
        r"'m/w': .*shape \(3, 5\).*expects shape \(5, 3\)",
    )
    _rejects(
        opt,
        {**d, "t": np.asarray(3, np.int64)},
        r"'t': .*dtype int64.*expects shape \(\) and dtype uint32",
    )
    _rejects(opt, {**d, "learning_rate": "fast"}, r"'learning_rate': expected an array")
    _rejects(
        flr.optim.Adam(0.01),
        {**d, "_specs/w": "float32[2,2]"},
        r"'m/w': .*shape \(5, 3\).*expects shape \(2, 2\)",
    )
    _rejects(
        flr.optim.Adam(0.01),
        {**d, "_specs/w": "int32[2]"},
        r"malformed parameter spec 'int32\[2\]'",
    )
    # An optimizer already built for another model.
    built = flr.optim.Adam(0.01)
    built.init({"w": jnp.ones(4), "b": jnp.ones(3)})
    _rejects(built, d, r"'_specs/w': the state dict was saved for a parameter float32\[5,3\]")


def test_static_type_format_and_optax_layout():
    opt, d = _trained(lambda: flr.optim.SGD(0.1, momentum=0.9))
    _rejects(opt, {**d, "nesterov": 1}, r"'nesterov': expected a bool, the state dict has a int")
    _rejects(opt, {**d, "__format__": 99}, r"unsupported state dict format 99")
    _, d = _trained(lambda: from_optax(optax.adam(0.01)))
    _rejects(from_optax(optax.adam(0.01)), d, r"call opt.init\(model\) before load_state_dict")
    with pytest.raises(TypeError, match="expects a flarejax Optimizer"):
        state_dict(optax.adam(0.01))
