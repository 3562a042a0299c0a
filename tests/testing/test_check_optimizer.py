"""``check_optimizer`` passes for every built-in optimizer, and fails for broken ones.

The table has one row per public optimizer class of ``flarejax.optim``, with
constructor arguments under which the optimizer lowers both objectives of the
``convergence`` property. Gradient transforms run in a ``Chain`` before plain
``SGD`` (whose step compiles fast, and which keeps no state of its own), wrappers
around ``Adam`` (so that the wrapped optimizer has state to keep right). Rows that
skip a property say why. ``COMPLEX`` is the table's complex column: every row
again on a complex model, against its reference, or raising where the optimizer
cannot take complex parameters. The second half proves that each property can fail:
one deliberately broken optimizer per property, and the property each is caught
by.
"""

from __future__ import annotations

import collections
import random

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr
from flarejax._tree import flat_keys, is_param
from flarejax.testing import (
    PROPERTIES,
    ConformanceError,
    check_optimizer,
    default_models,
    linesearch_extras,
    loss_extras,
    params_only,
)

O = flr.optim
# Tests of one property leave out the slow ones they do not need.
NOT_UNDER_TEST = dict.fromkeys(("state_dict", "to_optax", "convergence"), "not under test")
# One model keeps the table fast: it has every kind of leaf (see default_models).
NESTED = {"nested": default_models()["nested"]}
STEPS = 20


def plain_sgd():
    """The stateless step after a gradient transform: it compiles fast, keeps its state visible."""
    return O.SGD(1e-3)


# name -> (factory, keyword arguments of check_optimizer)
TABLE = {
    "ADOPT": (lambda: O.ADOPT(0.05), {}),
    "AMSGrad": (lambda: O.AMSGrad(0.05), {}),
    "AdEMAMix": (lambda: O.AdEMAMix(0.01), {}),
    "AdaBelief": (lambda: O.AdaBelief(0.05), {}),
    "Adadelta": (lambda: O.Adadelta(1.0), {}),
    "Adafactor": (lambda: O.Adafactor(0.05), {}),
    "Adagrad": (lambda: O.Adagrad(0.1), {}),
    "Adam": (lambda: O.Adam(0.05), {}),
    "AdamW": (lambda: O.AdamW(0.05), {}),
    "Adamax": (lambda: O.Adamax(0.05), {}),
    "AdamaxW": (lambda: O.AdamaxW(0.05), {}),
    "Adan": (lambda: O.Adan(0.05), {}),
    "AdaptiveGradClip": (lambda: O.Chain(O.AdaptiveGradClip(0.1), plain_sgd()), {}),
    "AddDecayedWeights": (lambda: O.Chain(O.AddDecayedWeights(1e-4), plain_sgd()), {}),
    "AddNoise": (lambda: O.Chain(O.AddNoise(0.01, 0.55), plain_sgd()), {}),
    "Centralize": (lambda: O.Chain(O.Centralize(), plain_sgd()), {}),
    "Chain": (lambda: O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(0.05)), {}),
    "Clip": (lambda: O.Chain(O.Clip(1.0), plain_sgd()), {}),
    "ClipByBlockRMS": (lambda: O.Chain(O.ClipByBlockRMS(1.0), plain_sgd()), {}),
    "ClipByGlobalNorm": (lambda: O.Chain(O.ClipByGlobalNorm(1.0), plain_sgd()), {}),
    "EMA": (lambda: O.EMA(O.Adam(0.05), 0.9), {}),
    "Freeze": (lambda: O.Chain(O.Freeze("dense.bias"), plain_sgd()), {}),
    "Fromage": (lambda: O.Fromage(0.01), {}),
    "KeepParamsNonnegative": (lambda: O.Chain(plain_sgd(), O.KeepParamsNonnegative()), {}),
    "LAMB": (lambda: O.LAMB(0.05), {}),
    "LARS": (lambda: O.LARS(0.1), {}),
    "LBFGS": (lambda: O.LBFGS(), {"extras": linesearch_extras}),
    "Lion": (lambda: O.Lion(0.01), {}),
    "Lookahead": (lambda: O.Lookahead(O.Adam(0.05), 5, 0.5), {}),
    "MADGRAD": (lambda: O.MADGRAD(0.01), {}),
    # Masked leaves the other parameters to the next member, as optax.masked.
    "Masked": (
        lambda: O.Chain(O.Masked(O.AddDecayedWeights(1e-3), "dense.kernel"), plain_sgd()),
        {},
    ),
    "MasterWeights": (lambda: O.MasterWeights(O.Adam(0.05)), {}),
    "MultiSteps": (lambda: O.MultiSteps(O.Adam(0.05), 2), {}),
    "Muon": (lambda: O.Muon(0.02), {}),
    "NAdam": (lambda: O.NAdam(0.05), {}),
    "NAdamW": (lambda: O.NAdamW(0.05), {}),
    "NoisySGD": (lambda: O.NoisySGD(1e-3), {}),
    "NovoGrad": (lambda: O.NovoGrad(0.05), {}),
    "OptaxOptimizer": (
        lambda: O.from_optax(optax.adam(0.05)),
        {
            "skip": {
                "none_grads": "optax sees a zero gradient for a None one, so its state "
                "moves (documented in OptaxOptimizer.__call__)",
                "state_dict": "its state follows the model: it needs opt.init(model) "
                "before load_state_dict (documented)",
                "hyperparameter": "optax keeps hyperparameters in its state "
                "(inject_hyperparams), not as attributes",
            }
        },
    ),
    "OptimisticGD": (lambda: O.OptimisticGD(2e-4), {}),
    "Partition": (lambda: O.Partition({"dense.*": O.Adam(0.05)}, default=O.SGD(1e-3)), {}),
    "PolyakSGD": (lambda: O.PolyakSGD(max_learning_rate=0.01), {"extras": loss_extras}),
    "Prodigy": (lambda: O.Prodigy(), {}),
    # Unrectified first steps are momentum SGD: Rosenbrock's gradients need a small rate.
    "RAdam": (lambda: O.RAdam(1e-3), {}),
    "RMSProp": (lambda: O.RMSProp(0.01), {}),
    "ReduceLROnPlateau": (lambda: O.ReduceLROnPlateau(O.Adam(0.05)), {"extras": loss_extras}),
    "Rprop": (lambda: O.Rprop(0.01), {}),
    "SGD": (lambda: O.SGD(1e-3, momentum=0.9), {}),
    "SM3": (lambda: O.SM3(0.05), {}),
    "Scale": (lambda: O.Scale(1e-3), {}),
    "ScaleByLearningRate": (lambda: O.ScaleByLearningRate(1e-3), {}),
    "ScheduleFreeAdamW": (lambda: O.ScheduleFreeAdamW(0.05), {}),
    "SignSGD": (lambda: O.SignSGD(0.01), {}),
    "Signum": (lambda: O.Signum(0.01), {}),
    # The threshold is on the squared gradient norm: Rosenbrock's start is ~1e7.
    "SkipLargeUpdates": (lambda: O.SkipLargeUpdates(O.Adam(0.05), 1e9), {}),
    "SkipNonFinite": (lambda: O.SkipNonFinite(O.Adam(0.05)), {}),
    "Yogi": (lambda: O.Yogi(0.05), {}),
    "ZeroNans": (lambda: O.Chain(O.ZeroNans(), plain_sgd()), {}),
}


# The complex column: each row's reference on complex parameters (an optax
# transformation with the row's hyperparameters, or a float64 NumPy function
# where optax squares complex gradients without conjugating), ``None`` for
# wrappers that are complex-safe when what they wrap is and have no optax twin
# taking a flat complex model, or UNSUPPORTED: the row raises a TypeError naming
# the parameter. docs/_gen_catalogue.py shows this column in the catalogue.
UNSUPPORTED = "unsupported"


def sgd_after(*transforms):
    """optax twin of ``Chain(*transforms, plain_sgd())``."""
    return optax.chain(*transforms, optax.sgd(1e-3))


def adadelta_reference(learning_rate=1.0, rho=0.9, eps=1e-6):
    """Adadelta in float64 NumPy with |g|^2 (optax.adadelta squares without conjugating)."""
    e_g, e_x = {}, {}

    def step(params, grads, _):
        def one(path, p, g):
            g = np.asarray(g, np.complex128)
            k = jax.tree_util.keystr(path)
            eg = rho * e_g.get(k, 0.0) + (1 - rho) * np.abs(g) ** 2
            delta = np.sqrt(e_x.get(k, 0.0) + eps) / np.sqrt(eg + eps) * g
            e_g[k], e_x[k] = eg, rho * e_x.get(k, 0.0) + (1 - rho) * np.abs(delta) ** 2
            return (np.asarray(p, np.complex128) - learning_rate * delta).astype(p.dtype)

        return jax.tree_util.tree_map_with_path(one, params, grads)

    return step


COMPLEX = {
    "ADOPT": UNSUPPORTED,  # clips element-wise (optax.contrib.adopt fails too)
    "AMSGrad": optax.amsgrad(0.05),
    "AdEMAMix": optax.contrib.ademamix(0.01),
    "AdaBelief": optax.adabelief(0.05),
    "Adadelta": adadelta_reference,
    "Adafactor": optax.adafactor(0.05),
    "Adagrad": optax.adagrad(0.1),
    "Adam": optax.adam(0.05),
    "AdamW": optax.adamw(0.05),
    "Adamax": optax.adamax(0.05),
    "AdamaxW": optax.adamaxw(0.05),
    "Adan": optax.adan(0.05),
    "AdaptiveGradClip": sgd_after(optax.adaptive_grad_clip(0.1)),
    "AddDecayedWeights": sgd_after(optax.add_decayed_weights(1e-4)),
    "AddNoise": sgd_after(optax.add_noise(0.01, 0.55, key=jax.random.key(0))),
    "Centralize": sgd_after(optax.centralize()),
    "Chain": optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05)),
    "Clip": UNSUPPORTED,  # element-wise; optax.clip fails too
    "ClipByBlockRMS": sgd_after(optax.clip_by_block_rms(1.0)),
    "ClipByGlobalNorm": sgd_after(optax.clip_by_global_norm(1.0)),
    "EMA": optax.adam(0.05),  # the model follows the wrapped optimizer
    "Freeze": None,
    "Fromage": optax.fromage(0.01),
    "KeepParamsNonnegative": UNSUPPORTED,  # complex numbers are not ordered
    "LAMB": optax.lamb(0.05),
    "LARS": optax.lars(0.1),
    # Same arithmetic as optax.lbfgs, but jax.grad's conjugate gradient is no
    # descent direction: both line searches fail at step 3 after 20 bisections,
    # which amplify float32 rounding (step sizes 6.2417e-8 and 6.2444e-8), and
    # the runs part. The other properties still run.
    "LBFGS": None,
    "Lion": optax.lion(0.01),
    "Lookahead": None,
    "MADGRAD": UNSUPPORTED,  # a cube root (optax.contrib.madgrad fails too)
    "Masked": None,
    "MasterWeights": optax.adam(0.05),
    "MultiSteps": optax.MultiSteps(
        optax.adam(0.05), 2, accumulator_dtype=jnp.complex64
    ).gradient_transformation(),
    "Muon": optax.contrib.muon(0.02),
    "NAdam": optax.nadam(0.05),
    "NAdamW": optax.nadamw(0.05),
    "NoisySGD": optax.noisy_sgd(1e-3, key=0),
    "NovoGrad": optax.novograd(0.05),
    "OptaxOptimizer": optax.adam(0.05),
    "OptimisticGD": optax.optimistic_gradient_descent(2e-4),
    "Partition": None,
    "PolyakSGD": optax.polyak_sgd(max_learning_rate=0.01),
    "Prodigy": UNSUPPORTED,  # its distance estimate is a real inner product
    "RAdam": optax.radam(1e-3),
    "RMSProp": optax.rmsprop(0.01),
    "ReduceLROnPlateau": None,
    "Rprop": UNSUPPORTED,  # compares signs (optax.rprop fails too)
    "SGD": optax.sgd(1e-3, momentum=0.9),
    "SM3": UNSUPPORTED,  # optax.sm3 rejects complex parameters
    "Scale": optax.sgd(1e-3),
    "ScaleByLearningRate": optax.sgd(1e-3),
    "ScheduleFreeAdamW": optax.contrib.schedule_free_adamw(0.05),
    "SignSGD": optax.sign_sgd(0.01),
    "Signum": optax.signum(0.01),
    "SkipLargeUpdates": optax.adam(0.05),
    "SkipNonFinite": optax.adam(0.05),
    "Yogi": optax.yogi(0.05),
    "ZeroNans": sgd_after(optax.zero_nans()),
}


def complex_model(dtype=jnp.complex64):
    """The nested model with complex parameters (real and imaginary parts both non-zero)."""
    real = default_models(jnp.float32)["nested"]
    return jax.tree_util.tree_map(
        lambda x: (x + 1j * jnp.cos(3 * x)).astype(dtype) if is_param(x) else x, real
    )


def test_the_table_covers_every_builtin():
    builtins = {
        name
        for name in O.__all__
        if isinstance(getattr(O, name), type)
        and issubclass(getattr(O, name), O.Optimizer)
        and getattr(O, name) is not O.Optimizer
    }
    assert sorted(builtins - TABLE.keys()) == []
    assert sorted(TABLE.keys() - builtins) == []


def test_the_complex_column_covers_every_builtin():
    assert sorted(COMPLEX) == sorted(TABLE)


# Properties about dtypes, checkpoints and convergence are the real rows' business.
COMPLEX_SKIP = {
    **NOT_UNDER_TEST,
    "dtype": "checked on real models",
    "none_grads": "checked on real models",
    "hyperparameter": "checked on real models",
}


@pytest.mark.parametrize("name", sorted(COMPLEX))
def test_builtin_on_complex_parameters(name):
    """Supported rows pass on a complex model, against their reference; the others raise."""
    make, kwargs = TABLE[name]
    reference = COMPLEX[name]
    if reference == UNSUPPORTED:
        model = params_only(complex_model())
        grads = jax.tree_util.tree_map(jnp.ones_like, model)
        message = r"does not support complex parameters.*parameter '[\w.]+' is complex64"
        for step in (lambda o, m, g: o(m, g), jax.jit(lambda o, m, g: o(m, g))):
            with pytest.raises(TypeError, match=message):
                step(make(), model, grads)
        return
    if callable(reference) and not isinstance(reference, optax.GradientTransformation):
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


@pytest.mark.parametrize("name", sorted(TABLE))
def test_builtin_conforms(name):
    make, kwargs = TABLE[name]
    report = check_optimizer(make, models=NESTED, steps=STEPS, **kwargs)
    assert list(report) == list(PROPERTIES)
    for prop, status in report.items():
        if prop == "reference":
            continue
        skipped = kwargs.get("skip", {})
        assert status.startswith("skipped" if prop in skipped else "passed"), (prop, status)


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
        from flarejax.optim._state_dict import state_dict

        return state_dict(self)

    def load_state_dict(self, d):
        from flarejax.optim._state_dict import load_state_dict

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
