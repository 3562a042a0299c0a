"""The Optimizer base class: hooks, PyTree behaviour, eager and jit, compile counts."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, f32, models, quadratic_grads, run_optax

import flarejax as flr


class TutorialAdam(flr.opt.Optimizer):
    """The tutorial's Adam, verbatim in shape: user code, no base-class help."""

    def __init__(self, learning_rate=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        self.m = {}
        self.v = {}
        self.t = jnp.zeros((), jnp.uint32)

    def _build(self, key, grad):
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad)
            self.v[key] = jnp.zeros_like(grad)

    def call_model(self, grads, **_):
        self.t = self.t + 1
        return grads

    def call_param(self, key, grad, **_):
        self._build(key, grad)
        self.m[key] = self.b1 * self.m[key] + (1 - self.b1) * grad
        self.v[key] = self.b2 * self.v[key] + (1 - self.b2) * grad**2
        m_hat = self.m[key] / (1 - self.b1**self.t)
        v_hat = self.v[key] / (1 - self.b2**self.t)
        return self.learning_rate * m_hat / (jnp.sqrt(v_hat) + self.eps)


class Counted:
    """A jitted train step that counts its traces."""

    def __init__(self) -> None:
        self.traces = 0

        def step(opt, model, grads):
            self.traces += 1
            return opt, opt(model, grads)

        self.step = jax.jit(step)


def test_flr_opt_is_flr_optim():
    assert flr.opt is flr.optim


def test_keys_are_dotted_paths():
    seen = {}

    class Spy(flr.optim.Optimizer):
        def call_param(self, key, grad, *, param, **_):
            seen[key] = param.shape
            return grad * 0

    model = {"encoder": {"layers": [{"kernel": jnp.ones((2, 3))}]}, "b": (jnp.ones(4),)}
    Spy()(model, jax.tree_util.tree_map(jnp.ones_like, model))
    assert seen == {"encoder.layers.0.kernel": (2, 3), "b.0": (4,)}


def test_tutorial_adam_matches_optax():
    ms = models()
    for name in ("flat", "nested"):
        expected = run_optax(f32(optax.adam, 0.01), ms[name], 100)
        opt = TutorialAdam(0.01)
        params = ms[name]
        for step in range(100):
            params = opt(params, quadratic_grads(params, step))
        assert_trees_close(params, expected)


@pytest.mark.parametrize(
    "make, tx",
    [
        (lambda: flr.optim.SGD(0.05), lambda: optax.sgd(0.05)),
        (lambda: flr.optim.SGD(0.05, 0.9), lambda: optax.sgd(0.05, 0.9)),
        (lambda: flr.optim.SGD(0.05, 0.9, True), lambda: optax.sgd(0.05, 0.9, True)),
        (lambda: flr.optim.Adam(0.01), lambda: f32(optax.adam, 0.01)),
        (
            lambda: flr.optim.AdamW(0.01, weight_decay=0.1),
            lambda: f32(optax.adamw, 0.01, weight_decay=0.1),
        ),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw"],
)
def test_builtins_match_optax(make, tx):
    from helpers import check_parity

    check_parity(make, tx(), steps=100)


def test_adam_close_to_plain_optax():
    """Against plain optax (float64 constants), the difference stays tiny."""
    params = models()["flat"]
    expected = run_optax(optax.adam(0.01), params, 100)
    opt = flr.optim.Adam(0.01)
    for step in range(100):
        params = opt(params, quadratic_grads(params, step))
    assert_trees_close(params, expected, rtol=1e-4, atol=1e-5)


# -- PyTree behaviour -------------------------------------------------------------


def test_optimizer_is_a_pytree_with_static_and_dynamic_fields():
    opt = flr.optim.SGD(0.1, momentum=0.9, nesterov=True)
    leaves, treedef = jax.tree_util.tree_flatten(opt)
    # learning_rate, momentum and t are children; nesterov is static.
    assert len(leaves) == 3
    assert all(isinstance(x, jax.Array) for x in leaves)
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert type(rebuilt) is flr.optim.SGD and rebuilt.nesterov is True
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(opt)[0]]
    assert paths == [".learning_rate", ".momentum", ".t"]


def test_float_hyperparameters_are_weak_scalar_arrays():
    opt = flr.optim.Adam(0.1)
    assert isinstance(opt.learning_rate, jax.Array)
    assert opt.learning_rate.weak_type and opt.learning_rate.shape == ()
    opt.learning_rate = 3e-4
    assert opt.learning_rate.weak_type
    assert float(opt.learning_rate) == pytest.approx(3e-4)


def test_static_fields_are_not_children():
    class Opt(flr.optim.Optimizer):
        def __init__(self):
            self.flag = True
            self.n = 3
            self.name = "x"
            self.none = None
            self.fn = jnp.tanh
            self.pair = (1, "a")
            self.rate = 0.5

    leaves = jax.tree_util.tree_leaves(Opt())
    assert len(leaves) == 1 and float(leaves[0]) == 0.5


def test_bfloat16_parameters_stay_bfloat16():
    model = {"w": jnp.ones((3,), jnp.bfloat16)}
    grads = {"w": jnp.full((3,), 0.5, jnp.bfloat16)}
    for opt in (flr.optim.SGD(0.1, 0.9), flr.optim.Adam(0.1), flr.optim.AdamW(0.1)):
        out = opt(model, grads)
        assert out["w"].dtype == jnp.bfloat16
        out = jax.jit(lambda o, m, g: o(m, g))(opt, model, grads)
        assert out["w"].dtype == jnp.bfloat16


def test_flatten_order_does_not_depend_on_hash_seed(tmp_path):
    script = textwrap.dedent(
        """
        import jax, jax.numpy as jnp, flarejax as flr
        model = {k: jnp.ones(2) for k in ["zeta", "alpha", "mid", "b.c", "a"]}
        opt = flr.optim.Adam(0.1)
        opt.init(model)
        print([jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(opt)])
        """
    )
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "JAX_PLATFORMS": "cpu"}
        res = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outs.add(res.stdout)
    assert len(outs) == 1


# -- non-parameter leaves and missing gradients ------------------------------------


@dataclasses.dataclass
class Net:
    w: Any
    b: Any
    steps: Any
    activation: str = dataclasses.field(metadata={"static": True}, default="relu")


jax.tree_util.register_dataclass(Net)


def test_non_parameter_leaves_pass_through():
    model = {
        "w": jnp.ones(3),
        "count": jnp.arange(3),
        "flag": jnp.array([True, False]),
        "n": 7,
        "scale": 2.5,
        "name": "layer",
        "nothing": None,
    }
    arrays = {k: model[k] for k in ("w", "count", "flag")}
    grads = jax.grad(lambda m: jnp.sum(m["w"] ** 2), allow_int=True)(arrays)
    grads = {**grads, "n": None, "scale": None, "name": None, "nothing": None}
    out = flr.optim.Adam(0.1)(model, grads)
    assert out["name"] == "layer" and out["nothing"] is None
    assert type(out["n"]) is int and out["n"] == 7
    assert type(out["scale"]) is float and out["scale"] == 2.5
    jitted = jax.jit(lambda o, m, g: o(m, g))(flr.optim.Adam(0.1), arrays, grads)
    for result in (out, jitted):
        np.testing.assert_array_equal(result["count"], model["count"])
        np.testing.assert_array_equal(result["flag"], model["flag"])
        assert result["count"].dtype == model["count"].dtype
        assert not np.allclose(result["w"], model["w"])


def test_none_gradient_leaves_param_and_state_untouched():
    model = {"a": jnp.ones(3), "b": jnp.ones(2)}
    opt = flr.optim.Adam(0.1)
    out = opt(model, {"a": jnp.ones(3), "b": None})
    np.testing.assert_array_equal(out["b"], model["b"])
    assert set(opt.m) == {"a"}
    # A whole subtree of None (equinox.filter_grad style) works too.
    out = opt({"x": model}, {"x": None})
    assert out["x"]["a"] is model["a"] or np.array_equal(out["x"]["a"], model["a"])


def test_dataclass_model_with_static_field():
    model = Net(w=jnp.ones((2, 2)), b=jnp.zeros(2), steps=jnp.array(3))
    grads = jax.grad(lambda m: jnp.sum(m.w) + jnp.sum(m.b), allow_int=True)(model)
    opt = flr.optim.SGD(0.5)
    out = opt(model, grads)
    assert out.activation == "relu" and int(out.steps) == 3
    np.testing.assert_allclose(out.w, 0.5)
    np.testing.assert_allclose(out.b, -0.5)


# -- eager == jit, compile counts ------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: flr.optim.SGD(0.05, 0.9), lambda: flr.optim.Adam(0.05)])
def test_eager_equals_jit(make):
    params = models()["nested"]
    eager_opt, jit_opt = make(), make()
    eager, jitted = params, params
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    for i in range(20):
        eager = eager_opt(eager, quadratic_grads(eager, i))
        jit_opt, jitted = step(jit_opt, jitted, quadratic_grads(jitted, i))
    assert_trees_close(eager, jitted, rtol=0, atol=0)
    assert_trees_close(eager_opt, jit_opt, rtol=0, atol=0)


def test_compiles_at_most_twice_cold_and_once_after_init():
    model = models()["nested"]
    grads = quadratic_grads(model, 0)
    cold = Counted()
    opt = flr.optim.Adam(0.01)
    for _ in range(10):
        opt, _ = cold.step(opt, model, grads)
    assert cold.traces <= 2

    warm = Counted()
    opt = flr.optim.Adam(0.01)
    opt.init(model)
    for i in range(10):
        opt.learning_rate = 0.01 / (i + 1)  # a new float every step: no recompilation
        opt, _ = warm.step(opt, model, grads)
    assert warm.traces == 1


def test_eager_calls_compile_once_per_structure():
    from flarejax._core.eager import _run

    model = models()["flat"]
    opt = flr.optim.Adam(0.01)
    opt.init(model)
    opt(model, quadratic_grads(model, 0))
    before = _run._cache_size()
    for i in range(5):
        opt.learning_rate = 0.1 * i
        model = opt(model, quadratic_grads(model, i))
    assert _run._cache_size() == before


class BuildsNonZero(flr.optim.Optimizer):
    """State built with non-zero, parameter-dependent values, and a weak-typed scalar."""

    def __init__(self):
        self.acc = {}
        self.scale = {}
        self.t = jnp.zeros((), jnp.int32)

    def call_model(self, grads, **_):
        self.t = self.t + 1
        return grads

    def call_param(self, key, grad, *, param, **_):
        if key not in self.acc:
            self.acc[key] = jnp.full_like(grad, 0.1) + jnp.abs(param)
            self.scale[key] = 1.0  # a Python float: weakly typed when built
        self.acc[key] = self.acc[key] + grad**2
        self.scale[key] = self.scale[key] * 0.5
        return self.scale[key] * grad / jnp.sqrt(self.acc[key])


def test_init_builds_exactly_what_the_lazy_build_builds():
    model = models()["flat"]
    grads = quadratic_grads(model, 0)
    lazy, pre = BuildsNonZero(), BuildsNonZero()
    pre.init(model)
    for key in ("w", "b"):
        np.testing.assert_array_equal(pre.acc[key], 0.1 + jnp.abs(model[key]))
        assert float(pre.scale[key]) == 1.0
    assert int(pre.t) == 0
    a, b = lazy(model, grads), pre(model, grads)
    assert_trees_close(a, b, rtol=0, atol=0)
    assert_trees_close(lazy, pre, rtol=0, atol=0)

    counted = Counted()
    opt = BuildsNonZero()
    opt.init(model)
    for _ in range(4):
        opt, _ = counted.step(opt, model, grads)
    assert counted.traces == 1


def test_init_under_jit():
    model = models()["flat"]
    opt = jax.jit(lambda o, m: (o.init(m), o)[1])(flr.optim.Adam(0.1), model)
    assert set(opt.m) == {"w", "b"}
    counted = Counted()
    for _ in range(3):
        opt, _ = counted.step(opt, model, quadratic_grads(model, 0))
    assert counted.traces == 1


# -- minimize ---------------------------------------------------------------------------


def _loss(model, x, y):
    pred = x @ model["w"] + model["b"]
    return jnp.mean((pred - y) ** 2)


def _data():
    r = np.random.default_rng(0)
    x = jnp.asarray(r.normal(size=(32, 4)), jnp.float32)
    y = x @ jnp.asarray([1.0, -2.0, 0.5, 3.0]) + 0.3
    return x, y


def test_minimize_eager_and_jit_agree_and_learn():
    x, y = _data()
    model = {"w": jnp.zeros(4), "b": jnp.zeros(()), "tag": "linear"}
    opt_a, opt_b = flr.optim.Adam(0.05), flr.optim.Adam(0.05)
    a, b = model, {k: v for k, v in model.items() if k != "tag"}
    step = jax.jit(lambda o, m, x, y: (o, *o.minimize(_loss, m, x, y)))
    first = None
    for _ in range(200):
        a, loss_a = opt_a.minimize(_loss, a, x, y)
        opt_b, b, _loss_b = step(opt_b, b, x, y)
        first = loss_a if first is None else first
    assert a["tag"] == "linear"
    assert float(loss_a) < 0.05 * float(first)
    np.testing.assert_allclose(a["w"], b["w"], rtol=1e-6)
    # same as value_and_grad + opt(...)
    opt_c, c = flr.optim.Adam(0.05), {"w": jnp.zeros(4), "b": jnp.zeros(())}
    for _ in range(200):
        _loss_c, g = jax.value_and_grad(_loss)(c, x, y)
        c = opt_c(c, g)
    np.testing.assert_allclose(a["w"], c["w"], rtol=1e-6)


def test_minimize_has_aux_and_passes_loss():
    seen = []

    class LossSpy(flr.optim.Optimizer):
        def __init__(self):
            self.learning_rate = 0.1

        def call_model(self, grads, *, loss, **_):
            seen.append(loss)
            return grads

        def call_param(self, key, grad, **_):
            return self.learning_rate * grad

    x, y = _data()

    def loss_aux(m, x, y):
        loss = _loss(m, x, y)
        return loss, {"double": 2 * loss}

    model = {"w": jnp.zeros(4), "b": jnp.zeros(())}
    _new, (loss, aux) = LossSpy().minimize(loss_aux, model, x, y, has_aux=True)
    np.testing.assert_allclose(aux["double"], 2 * loss)
    np.testing.assert_allclose(loss, _loss(model, x, y))
    assert seen, "the loss reached call_model"


# -- bad input ------------------------------------------------------------------------


def test_grads_with_a_missing_key():
    opt = flr.optim.Adam(0.1)
    with pytest.raises(ValueError, match=r"'enc\.b'"):
        opt({"enc": {"w": jnp.ones(2), "b": jnp.ones(2)}}, {"enc": {"w": jnp.ones(2)}})


def test_grads_with_an_extra_key():
    opt = flr.optim.Adam(0.1)
    with pytest.raises(ValueError, match=r"'extra'"):
        opt({"w": jnp.ones(2)}, {"w": jnp.ones(2), "extra": jnp.ones(2)})


def test_grads_with_wrong_shape():
    opt = flr.optim.SGD(0.1)
    with pytest.raises(ValueError, match=r"'layers\.1'.*\(3,\).*\(2,\)"):
        opt({"layers": [jnp.ones(2), jnp.ones(2)]}, {"layers": [jnp.ones(2), jnp.ones(3)]})


def test_grads_that_are_not_arrays():
    opt = flr.optim.SGD(0.1)
    with pytest.raises(TypeError, match=r"'w' must be an array"):
        opt({"w": jnp.ones(2)}, {"w": [1.0, 2.0]})
    with pytest.raises(TypeError, match=r"'w'.*int32"):
        opt({"w": jnp.ones(2)}, {"w": jnp.ones(2, jnp.int32)})


def test_reshaped_parameter_after_state_was_built():
    opt = flr.optim.Adam(0.1)
    opt({"w": jnp.ones(3)}, {"w": jnp.ones(3)})
    before = jax.tree_util.tree_leaves(opt)
    with pytest.raises(ValueError, match=r"'w'.*\(1, 3\).*\(3,\)"):
        opt({"w": jnp.ones((1, 3))}, {"w": jnp.ones((1, 3))})
    with pytest.raises(ValueError, match=r"'w'.*bfloat16.*float32"):
        opt({"w": jnp.ones(3, jnp.bfloat16)}, {"w": jnp.ones(3, jnp.bfloat16)})
    after = jax.tree_util.tree_leaves(opt)
    assert len(before) == len(after) and all(a is b for a, b in zip(before, after))
    # under the user's jit too
    with pytest.raises(ValueError, match=r"'w'"):
        jax.jit(lambda o, m, g: o(m, g))(opt, {"w": jnp.ones(4)}, {"w": jnp.ones(4)})


def test_new_parameter_is_built_lazily():
    opt = flr.optim.Adam(0.1)
    opt({"a": jnp.ones(2)}, {"a": jnp.ones(2)})
    out = opt({"a": jnp.ones(2), "b": jnp.ones(3)}, {"a": jnp.ones(2), "b": jnp.ones(3)})
    assert set(opt.m) == {"a", "b"} and out["b"].shape == (3,)


def test_bad_update_from_a_hook_names_the_key_and_leaves_state_alone():
    class Broken(flr.optim.Optimizer):
        def __init__(self):
            self.seen = {}

        def call_param(self, key, grad, **_):
            self.seen[key] = grad
            return jnp.ones(5) if key == "z" else grad

    opt = Broken()
    with pytest.raises(ValueError, match=r"'z'.*\(5,\).*\(2,\)"):
        opt({"a": jnp.ones(2), "z": jnp.ones(2)}, {"a": jnp.ones(2), "z": jnp.ones(2)})
    assert opt.seen == {}


def test_duplicate_keys_are_an_error():
    with pytest.raises(ValueError, match=r"'a\.b'"):
        flr.optim.SGD(0.1)({"a.b": jnp.ones(1), "a": {"b": jnp.ones(1)}}, None)


def test_non_finite_gradients_are_not_an_error_here():
    out = flr.optim.SGD(0.1)({"w": jnp.ones(2)}, {"w": jnp.array([jnp.nan, 1.0])})
    assert np.isnan(out["w"][0]) and out["w"][1] == pytest.approx(0.9)


def test_repr_is_readable():
    opt = flr.optim.Adam(0.001)
    opt.init({"w": jnp.ones(2)})
    text = repr(opt)
    assert text.startswith("Adam(") and "learning_rate=0.001" in text and "m={1 entries}" in text


def test_hyperparameters_by_name_with_a_schedule():
    sched = optax.linear_schedule(1.0, 0.0, 10)
    opt = flr.optim.Adam(sched, b1=0.8)
    model = {"w": jnp.ones(2)}
    for _ in range(3):
        model = opt(model, {"w": jnp.ones(2)})
    hp = opt.hyperparameters()
    assert set(hp) == {"learning_rate", "b1", "b2", "eps", "eps_root", "mu_dtype", "state_dtype"}
    assert float(hp["learning_rate"]) == pytest.approx(0.7)
    assert float(hp["b1"]) == pytest.approx(0.8)


def test_eager_steps_keep_the_callers_arrays_alive():
    class Anchored(flr.optim.Optimizer):
        """State built from the parameter itself: the same buffer as the model's."""

        def __init__(self):
            self.anchor = {}

        def call_param(self, key, grad, *, param, **_):
            if key not in self.anchor:
                self.anchor[key] = param
            return 0.1 * grad + 0.0 * self.anchor[key]

    model = {"w": jnp.ones(3), "b": jnp.ones(())}
    grads = {"w": jnp.ones(3), "b": jnp.ones(())}
    opt = Anchored()
    opt.init(model)
    first = opt(model, grads)
    second = opt(first, grads)
    third = opt(second, grads)
    for tree in (model, first, second, third):  # none was donated
        assert np.isfinite(np.asarray(tree["w"])).all()
    np.testing.assert_allclose(third["w"], 0.7, rtol=1e-6)
    np.testing.assert_allclose(opt.anchor["w"], 1.0)


def test_state_that_is_the_callers_parameter_is_never_donated():
    class KeepsFirst(flr.optim.Optimizer):
        """Keeps the first value of each parameter, as Prodigy does."""

        def __init__(self):
            self.first = {}

        def call_param(self, key, grad, *, param, **_):
            if key not in self.first:
                self.first[key] = param
            return 0.1 * grad

    model0 = {"w": jnp.ones(4)}
    opt = KeepsFirst()
    model = model0
    for _ in range(4):
        model = opt(model, {"w": jnp.ones(4)})
    np.testing.assert_array_equal(model0["w"], np.ones(4))  # still alive, unchanged
    np.testing.assert_allclose(model["w"], 0.6, rtol=1e-6)
