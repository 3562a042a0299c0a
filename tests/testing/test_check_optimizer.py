"""``check_optimizer`` passes for every built-in optimizer, and fails for broken ones.

The table is ``flarejax.testing._registry.registry()``: one entry per public
optimizer class of ``flarejax.optim``, with constructor arguments under which the
optimizer lowers both objectives of the ``convergence`` property and its optax
reference (entries without one say why). Rows that skip a property say why. The
columns: every property on float32 (bfloat16 within ``dtype``) against the
reference; the registry's hyperparameter variants against theirs; bfloat16 against
the reference; the complex column (every row again on a complex model, against its
reference, or raising where the optimizer cannot take complex parameters); and
invalid hyperparameters, generated from the checks each constructor records. The
second half proves that each property can fail: one deliberately broken optimizer
per property, and the property each is caught by."""

from __future__ import annotations

import collections
import inspect
import math
import random

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import models

import flarejax as flr
from flarejax._core import checks as _checks
from flarejax._tree import flat_keys, is_param
from flarejax.testing import (
    PROPERTIES,
    ConformanceError,
    check_optimizer,
    default_models,
    loss_extras,
    params_only,
    quadratic,
)
from flarejax.testing._check import _Check
from flarejax.testing._registry import UNSUPPORTED, registry
from flarejax.testing._runner import Runner, extras_function

O = flr.optim
# Tests of one property leave out the slow ones they do not need.
NOT_UNDER_TEST = dict.fromkeys(("state_dict", "to_optax", "convergence"), "not under test")
# One model keeps the table fast: it has every kind of leaf (see default_models).
NESTED = {"nested": default_models()["nested"]}
STEPS = 20


REGISTRY = registry()


def complex_model(dtype=jnp.complex64):
    """The nested model with complex parameters (real and imaginary parts both non-zero)."""
    real = default_models(jnp.float32)["nested"]
    return jax.tree_util.tree_map(
        lambda x: (x + 1j * jnp.cos(3 * x)).astype(dtype) if is_param(x) else x, real
    )


def test_the_registry_covers_every_builtin():
    builtins = {
        name
        for name in O.__all__
        if isinstance(getattr(O, name), type)
        and issubclass(getattr(O, name), O.Optimizer)
        and getattr(O, name) is not O.Optimizer
    }
    assert sorted(builtins - REGISTRY.keys()) == []
    assert sorted(REGISTRY.keys() - builtins) == []


# Properties about dtypes, checkpoints and convergence are the real rows' business.
COMPLEX_SKIP = {
    **NOT_UNDER_TEST,
    "dtype": "checked on real models",
    "none_grads": "checked on real models",
    "hyperparameter": "checked on real models",
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_builtin_on_complex_parameters(name):
    """Supported rows pass on a complex model, against their reference; the others raise."""
    entry = REGISTRY[name]
    make, kwargs, reference = entry.make, entry.options, entry.complex
    if reference == UNSUPPORTED:
        model = params_only(complex_model())
        grads = jax.tree_util.tree_map(jnp.ones_like, model)
        message = r"does not support complex parameters.*parameter '[\w.]+' is complex64"
        for step in (lambda o, m, g: o(m, g), jax.jit(lambda o, m, g: o(m, g))):
            with pytest.raises(TypeError, match=message):
                step(make(), model, grads)
        return
    if reference is not None:
        reference = reference()
    skip = {**COMPLEX_SKIP, **kwargs.get("skip", {})}
    report = check_optimizer(
        make,
        models={"complex": complex_model()},
        reference=reference,
        steps=6,
        rtol=1e-4,
        atol=1e-5,
        extras=kwargs.get("extras"),
        skip=skip,
    )
    assert report["reference"].startswith("skipped" if reference is None else "passed")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_builtin_conforms(name):
    """Every property, and agreement with the row's reference (optax) where it has one."""
    entry = REGISTRY[name]
    reference = entry.reference() if entry.reference else None
    kwargs = entry.options
    report = check_optimizer(entry.make, models=NESTED, steps=STEPS, reference=reference, **kwargs)
    assert list(report) == list(PROPERTIES)
    skipped = {**kwargs.get("skip", {}), **({} if reference else {"reference": ""})}
    for prop, status in report.items():
        assert status.startswith("skipped" if prop in skipped else "passed"), (prop, status)


# The reference columns compare numbers: the properties about state are the rows' business.
NUMBERS_ONLY = dict.fromkeys(
    (
        "compile_once",
        "leaf_order",
        "hyperparameter",
        "none_grads",
        "state_dict",
        "dtype",
        "to_optax",
        "convergence",
    ),
    "checked by test_builtin_conforms",
)
VARIANTS = {
    f"{name}-{variant}": (REGISTRY[name], REGISTRY[name].variants[variant])
    for name in sorted(REGISTRY)
    for variant in REGISTRY[name].variants
}


@pytest.mark.parametrize("case", sorted(VARIANTS))
def test_builtin_variant_matches_its_reference(case):
    """Hyperparameter variants (schedules, options) agree with optax: eager, jit and init."""
    entry, variant = VARIANTS[case]
    all_models = models()
    make, reference = variant.build()
    skip = {**NUMBERS_ONLY, **entry.options.get("skip", {}), **variant.options.get("skip", {})}
    report = check_optimizer(
        make,
        models={name: all_models[name] for name in variant.models},
        reference=reference,
        steps=variant.steps,
        rtol=variant.rtol,
        atol=variant.atol,
        **{**entry.options, **variant.options, "skip": skip},
    )
    assert report["reference"] == "passed"


def _bfloat16_reference(entry):
    """Plain optax where the complex column has it: inject_hyperparams' float32 arrays
    would promote a bfloat16 state (and its optax.adam runs into NaN); else the reference."""
    if callable(entry.complex) and entry.complex.__name__ == "<lambda>":
        return entry.complex()
    return entry.reference()


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if REGISTRY[n].reference))
def test_builtin_bfloat16_matches_its_reference(name):
    """On bfloat16 parameters, 20 jitted steps agree with the reference to bfloat16 precision.

    (The row's ``dtype`` property checks that parameters stay bfloat16, eagerly
    and under ``jax.jit``; this checks the numbers, with one jitted run only.)
    """
    entry = REGISTRY[name]
    if "skip" in entry.bfloat16:
        pytest.skip(entry.bfloat16["skip"])
    model = default_models(jnp.bfloat16)["nested"]
    steps, extras = 20, extras_function(entry.options.get("extras"))
    runner = Runner(quadratic, extras)
    opt = entry.make()
    runner.init(opt, model)
    for i in range(steps):
        opt, model = runner.step(opt, model, i, jit=True)
    assert {x.dtype for x in jax.tree.leaves(params_only(model))} == {jnp.dtype(jnp.bfloat16)}
    check = _Check(entry.make, extras, steps, 2e-2, 2e-2, None, {})
    check.check_reference(
        "bfloat16", default_models(jnp.bfloat16)["nested"], _bfloat16_reference(entry), (model,)
    )


def _out_of_range(check, args, kw):
    """Values outside what a recorded validator accepts (NaN is outside every range)."""
    if check is _checks.check_positive:
        return [0.0, -1.0, math.inf, math.nan]
    if check is _checks.check_nonnegative:
        return [-1.0, math.inf, math.nan]
    if check is _checks.check_range:
        lo, hi = args
        kw = dict(kw)
        out = [math.nan]
        if math.isfinite(lo):
            out += [lo - 1.0] + ([float(lo)] if kw.get("lo_open", False) else [])
        if math.isfinite(hi):
            out += [hi + 1.0] + ([float(hi)] if kw.get("hi_open", True) else [])
        else:
            out += [math.inf] if kw.get("hi_open", True) else []
        return out
    raise AssertionError(f"no out-of-range values known for {check.__name__}")


def _recorded_checks(entry):
    """The class of ``entry.example`` and the checks its construction made, by argument."""
    cls = type(entry.build_example())
    saved = _checks.RECORDED.pop(cls, {})
    try:
        entry.build_example()
        own = {name: set(checks) for name, checks in _checks.RECORDED.get(cls, {}).items()}
    finally:
        merged = _checks.RECORDED.setdefault(cls, {})
        for name, checks in saved.items():
            merged.setdefault(name, set()).update(checks)
    return cls, own


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_builtin_rejects_invalid_hyperparameters(name):
    """Every argument the constructor checks: each value outside its range is a ValueError.

    The checks are those ``flarejax._core.checks`` records while ``__init__``
    runs; the values come from each check's bounds (below, above, the open
    bound itself, infinity where the range is finite, NaN). The error names the
    argument, and assigning the value later raises the same.
    """
    entry = REGISTRY[name]
    cls, recorded = _recorded_checks(entry)
    assert set(recorded) <= _checks.hyperparameter_names(cls)
    for arg, checks in sorted(recorded.items()):
        for check, args, kw in checks:
            for value in _out_of_range(check, args, kw):
                with pytest.raises(ValueError, match=rf"^{arg} must be"):
                    entry.build_example(**{arg: value})
                opt = entry.build_example()
                with pytest.raises(ValueError, match=rf"^{arg} must be"):
                    setattr(opt, arg, value)


# Float arguments that take any value, and why.
UNRANGED = {
    ("PolyakSGD", "f_min"): "a lower bound of the loss: any real number",
    ("RAdam", "threshold"): "compared with rho_t: any value (as optax.radam)",
}


def test_every_float_argument_is_checked_or_said_to_be_unranged():
    """Every float argument with a default records a check (so the test above covers it)."""
    unchecked = []
    for name, entry in REGISTRY.items():
        cls, recorded = _recorded_checks(entry)
        defaults = {
            p.name
            for p in inspect.signature(cls.__init__).parameters.values()
            if isinstance(p.default, float)
        }
        missing = {arg for arg in defaults - set(recorded) if (name, arg) not in UNRANGED}
        if missing:
            unchecked.append((name, sorted(missing)))
    assert unchecked == []


def test_default_models_and_reference():
    """Both default models, against optax, and the report's details."""
    report = check_optimizer(
        lambda: O.Adam(0.05), reference=optax.inject_hyperparams(optax.adam)(0.05), steps=STEPS
    )
    assert report["reference"] == "passed"
    assert report["hyperparameter"] == "passed (learning_rate)"
    assert report["convergence"].startswith("passed (quadratic ")
    assert "compile_once" in str(report)


def test_reference_as_a_function():
    def sgd(params, grads, step):
        return jax.tree_util.tree_map(lambda p, g: p - 1e-3 * g, params, grads)

    report = check_optimizer(lambda: O.SGD(1e-3), models=NESTED, reference=sgd, steps=STEPS)
    assert report["reference"] == "passed"


def test_extras_forms_and_skip():
    """extras as a dict, a function of (model, step) and of (model, step, loss_fn)."""
    seen = []

    def two(model, step):
        seen.append(step)
        return {"loss": jnp.float32(1.0)}

    kw = {"models": NESTED, "steps": 4}
    fixed = {"loss": jnp.float32(1.0)}
    check_optimizer(lambda: O.PolyakSGD(0.01), extras=fixed, skip=NOT_UNDER_TEST, **kw)
    check_optimizer(lambda: O.PolyakSGD(0.01), extras=two, skip=["to_optax", "state_dict"], **kw)
    assert seen[:4] == [0, 1, 2, 3]
    report = check_optimizer(
        lambda: O.PolyakSGD(0.01),
        extras=loss_extras,
        skip={"dtype": "why"},
        convergence=False,
        **kw,
    )
    assert report["dtype"] == "skipped: why"
    assert report["convergence"] == "skipped: convergence=False"
    with pytest.raises(ValueError, match="unknown properties in skip: \\['speed'\\]"):
        check_optimizer(lambda: O.SGD(0.1), skip=["speed"])
    with pytest.raises(TypeError, match="must return a flarejax Optimizer"):
        check_optimizer(lambda: optax.sgd(0.1))


# -- broken optimizers: every property can fail -------------------------------------


class _Base(O.Optimizer):
    def __init__(self, learning_rate: float = 0.05) -> None:
        self.learning_rate = learning_rate


class PythonRandom(_Base):
    """Python randomness runs once per trace: eager and jit differ."""

    def call_param(self, key, grad, **_):
        return self.learning_rate * grad * random.uniform(0.5, 1.5)


class InitDiffers(_Base):
    """``init`` builds a different state from the first step's lazy build."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.m = {}

    def call_param(self, key, grad, **_):
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad)
        self.m[key] = 0.5 * self.m[key] + grad
        return self.learning_rate * self.m[key]

    def init(self, model, **extras):
        super().init(model, **extras)
        self.m = {k: v + 1 for k, v in self.m.items()}


class IntCounter(_Base):
    """A Python int counter is static: the structure changes every step."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.count = 0

    def call_model(self, grads, **_):
        self.count = self.count + 1
        return grads


class FloatCounter(IntCounter):
    """The same with a float: converted to an array on assignment, it is fine."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.count = 0.0


class GrowingHistory(_Base):
    """State whose shape grows each step: the jitted step compiles every step."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.history = jnp.zeros((0,))

    def call_model(self, grads, **_):
        self.history = jnp.concatenate([self.history, jnp.ones(1)])
        return grads


class IntLearningRate(O.Optimizer):
    """An int hyperparameter is static: changing it recompiles."""

    def __init__(self, learning_rate: int = 1) -> None:
        self.learning_rate = learning_rate

    def call_param(self, key, grad, **_):
        return grad * self.learning_rate / 20


class StrongUpcast(_Base):
    """A strongly-typed float32 learning rate promotes bfloat16 parameters."""

    def __call__(self, model, grads, **_):
        lr = jnp.float32(self.learning_rate)
        return jax.tree_util.tree_map(
            lambda g, p: p if g is None else p - lr * g, grads, model, is_leaf=lambda x: x is None
        )


class Float64State(_Base):
    """Under x64, state in float64 for float32 parameters."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.m = {}

    def call_param(self, key, grad, **_):
        if key not in self.m:
            self.m[key] = jnp.zeros(grad.shape, jnp.float64)
        self.m[key] = 0.5 * self.m[key] + grad
        return (self.learning_rate * self.m[key]).astype(grad.dtype)


class TouchesIntegers(_Base):
    """Treats every array as a parameter: integer arrays become float."""

    def __call__(self, model, grads, **_):
        keys, leaves, treedef = flat_keys(model)
        g = dict(zip(flat_keys(grads)[0], flat_keys(grads)[1]))
        new = [
            x - self.learning_rate * (g[k] if g.get(k) is not None else jnp.zeros_like(x))
            if isinstance(x, jax.Array)
            else x
            for k, x in zip(keys, leaves)
        ]
        return jax.tree_util.tree_unflatten(treedef, new)


class DecaysEverything(_Base):
    """Weight decay applied to parameters without a gradient too."""

    def __call__(self, model, grads, **_):
        def step(g, p):
            if not is_param(p):
                return p
            return 0.99 * p if g is None else 0.99 * p - self.learning_rate * g

        return jax.tree_util.tree_map(step, grads, model, is_leaf=lambda x: x is None)


class DecaysAllMomenta(_Base):
    """Decays the momentum of every parameter it has seen, with a gradient or not."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.m = {}

    def call_model(self, grads, **_):
        for k in self.m:
            self.m[k] = 0.9 * self.m[k]
        return grads

    def call_param(self, key, grad, **_):
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad)
        self.m[key] = self.m[key] + grad
        return self.learning_rate * self.m[key]


class InsertionOrdered(_Base):
    """State in an OrderedDict filled in an arbitrary (here reversed) key order."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.m = collections.OrderedDict()

    def call_model(self, grads, **_):
        for k in sorted(grads, reverse=True):
            if k not in self.m:
                self.m[k] = jnp.zeros_like(grads[k])
        return grads

    def call_param(self, key, grad, **_):
        self.m[key] = 0.5 * self.m[key] + grad
        return self.learning_rate * self.m[key]


class ForgetfulStateDict(O.Adam):
    """torch-style methods that forget the step counter."""

    def state_dict(self):
        from flarejax.optim._interop._state_dict import state_dict

        return state_dict(self)

    def load_state_dict(self, d):
        from flarejax.optim._interop._state_dict import load_state_dict

        load_state_dict(self, {**d, "t": np.zeros((), np.uint32)})


class NeedsLoss(_Base):
    """Fails without loss= with an error that to_optax's init does not retry."""

    def call_model(self, grads, *, loss=None, **_):
        if loss is None:
            raise RuntimeError("NeedsLoss needs loss=")
        return grads


class Ascent(_Base):
    def call_param(self, key, grad, **_):
        return -self.learning_rate * grad


# (factory, check_optimizer keyword arguments, property, a piece of the message)
BROKEN = {
    "python-randomness": (PythonRandom, {}, "jit", "eager and jax.jit disagree at parameter"),
    "init-differs": (InitDiffers, {}, "init", "eager after init agrees with jax.jit"),
    "int-counter": (
        IntCounter,
        {},
        "structure",
        "static (non-array) attributes changed: count: 1 -> 2",
    ),
    "growing-state": (
        GrowingHistory,
        {},
        "compile_once",
        "'history': float32[0] after init, float32[1] after a step",
    ),
    "int-hyperparameter": (
        IntLearningRate,
        {"hyperparameter": "learning_rate"},
        "hyperparameter",
        "changing learning_rate from 1 to 2 compiled the jitted step again "
        "(learning_rate is a Python int",
    ),
    "upcast": (
        StrongUpcast,
        {},
        "dtype",
        "parameter 'blocks.0.0' changed dtype from bfloat16 to float32",
    ),
    "touches-integers": (
        TouchesIntegers,
        {},
        "non_params",
        "'mask': an array bool[2] became an array float32[2]",
    ),
    "decays-frozen": (
        DecaysEverything,
        {},
        "none_grads",
        "parameter 'dense.kernel' has a None gradient but changed",
    ),
    "decays-frozen-state": (
        DecaysAllMomenta,
        {},
        "none_grads",
        "state for parameters with None gradients changed at 'm.dense.kernel'",
    ),
    "insertion-order": (
        InsertionOrdered,
        {"skip": {"compile_once": "init cannot pre-build an OrderedDict"}},
        "leaf_order",
        "depends on insertion order",
    ),
    "state-dict": (
        lambda: ForgetfulStateDict(0.05),
        {},
        "state_dict",
        "differs from the uninterrupted run",
    ),
    "to-optax": (
        NeedsLoss,
        {"extras": loss_extras},
        "to_optax",
        "raised RuntimeError: NeedsLoss needs loss=",
    ),
    "reference": (
        lambda: O.Adam(0.05),
        {"reference": optax.sgd(0.05)},
        "reference",
        "disagree at parameter",
    ),
    "convergence": (Ascent, {}, "convergence", "did not lower the loss"),
}


@pytest.mark.filterwarnings("ignore:InsertionOrdered.init could not pre-build")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_optimizer_fails_the_right_property(case):
    make, kwargs, prop, message = BROKEN[case]
    with pytest.raises(ConformanceError) as info:
        check_optimizer(make, models=NESTED, steps=3, **kwargs)
    assert info.value.property == prop, str(info.value)
    assert str(info.value).startswith(f"[{prop}] "), str(info.value)
    assert message in str(info.value)
    assert isinstance(info.value, AssertionError)


def test_failure_names_the_key_and_the_numbers():
    with pytest.raises(ConformanceError) as info:
        check_optimizer(
            lambda: O.Adam(0.05),
            models=NESTED,
            reference=optax.sgd(0.05),
            steps=3,
            skip=NOT_UNDER_TEST,
        )
    assert info.value.key == "blocks.0.0"
    assert "values " in str(info.value) and "|diff|" in str(info.value)
    assert "rtol=1e-05, atol=1e-06" in str(info.value)


def test_float_counter_is_fine_and_int_hyperparameter_is_not_found():
    report = check_optimizer(FloatCounter, models=NESTED, steps=3, skip=NOT_UNDER_TEST)
    assert report["structure"] == "passed"
    report = check_optimizer(IntLearningRate, models=NESTED, steps=3, skip=NOT_UNDER_TEST)
    assert report["hyperparameter"] == "skipped: no weakly-typed float hyperparameter found"


def test_silent_float64_under_x64():
    with jax.enable_x64(True):
        report = check_optimizer(lambda: O.Adam(0.05), models=NESTED, steps=3, skip=NOT_UNDER_TEST)
        assert report["dtype"] == "passed"
        with pytest.raises(
            ConformanceError, match=r"\[dtype\].*holds a float64 array 'm.blocks.0.0'"
        ):
            check_optimizer(Float64State, models=NESTED, steps=3, skip=NOT_UNDER_TEST)


# -- the bridge's types: to_optax on bfloat16 ------------------------------------------


def test_to_optax_state_that_changes_type_fails_to_optax():
    """A state growing at every step: the bridged state changes type from init to update."""
    caught_before = ("compile_once", "hyperparameter", "none_grads", "state_dict")
    skip = {**dict.fromkeys(caught_before, "under test: to_optax"), "convergence": "no"}
    with pytest.raises(ConformanceError) as info:
        check_optimizer(GrowingHistory, models=NESTED, steps=3, skip=skip)
    assert info.value.property == "to_optax", str(info.value)
    assert "in bfloat16: to_optax's update changed the state init built at 'history'" in str(
        info.value
    )
    assert "float32[0] after init, float32[1] after update" in str(info.value)
