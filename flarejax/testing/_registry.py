"""One entry per public optimizer class of ``flarejax.optim``: how to build, check and show it.

The conformance table (``tests/testing/test_check_optimizer.py``), the generated
invalid-hyperparameter tests and the documentation's catalogue
(``docs/_gen_catalogue.py``) all read :func:`registry`, so a new optimizer
touches its own file, one :class:`Entry` here and its documentation page.

Each entry has

``make``
    The conformance row's factory: constructor arguments under which the
    optimizer lowers both objectives of the ``convergence`` property. Gradient
    transforms run in a ``Chain`` before plain ``SGD`` (whose step compiles
    fast, and which keeps no state of its own), wrappers around ``Adam`` (so
    that the wrapped optimizer has state to keep right).
``example``
    The catalogue's constructor call, as text (evaluated with the names of
    ``flarejax.optim`` and ``optax``); wrappers wrap stateless ``SGD`` there so
    that the number shown is their own state. The invalid-hyperparameter tests
    rebuild it with one argument replaced.
``reference``
    A function of no arguments returning the row's optax transformation (or a
    ``(params, grads, step) -> params`` function), or ``None``: ``reason`` says
    why there is none.
``complex``
    The same on complex parameters, :data:`UNSUPPORTED` where the optimizer
    raises a ``TypeError`` for complex parameters, or ``None``;
    ``complex_note`` says where optax mishandles them (shown in the catalogue).
``bfloat16``
    ``{"skip": reason}`` to leave the row out of the bfloat16 column.
``options``
    Further keyword arguments of ``check_optimizer`` (``extras``, ``skip``).
``variants``
    Hyperparameter variants checked against optax: name -> :class:`Variant`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["UNSUPPORTED", "Entry", "Variant", "registry"]

UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Variant:
    """Another construction of the optimizer and its reference (``check_optimizer`` arguments).

    ``build()`` returns ``(make, reference)``; ``models`` names models of
    ``tests/helpers.py:models``.
    """

    build: Callable[[], tuple[Callable[[], Any], Any]]
    steps: int = 50
    rtol: float = 1e-5
    atol: float = 1e-6
    models: tuple[str, ...] = ("flat", "nested", "matrix")
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entry:
    """How the conformance table, the hyperparameter tests and the catalogue build one class."""

    make: Callable[[], Any]
    example: str
    reference: Callable[[], Any] | None = None
    reason: str = ""
    complex: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)
    variants: Mapping[str, Variant] = field(default_factory=dict)
    bfloat16: Mapping[str, Any] = field(default_factory=dict)
    complex_note: str = ""

    def build_example(self, **overrides: Any) -> Any:
        """The optimizer ``example`` describes, with ``overrides`` among its arguments."""
        return build(self.example, **overrides)


def namespace() -> dict[str, Any]:
    import optax

    from .. import optim

    return {**{n: getattr(optim, n) for n in optim.__all__}, "optax": optax}


def build(text: str, **overrides: Any) -> Any:
    """Evaluate the call ``text``; ``overrides`` replace (or add) keyword arguments of it."""
    import ast
    import inspect

    ns = namespace()
    call = ast.parse(text, mode="eval").body
    if not isinstance(call, ast.Call):
        raise ValueError(f"not a call: {text!r}")
    func = eval(compile(ast.Expression(call.func), "<example>", "eval"), ns)
    args = [eval(compile(ast.Expression(a), "<example>", "eval"), ns) for a in call.args]
    kwargs = {
        k.arg: eval(compile(ast.Expression(k.value), "<example>", "eval"), ns)
        for k in call.keywords
        if k.arg is not None
    }
    if overrides:
        bound = inspect.signature(func).bind_partial(*args, **kwargs)
        bound.arguments.update(overrides)
        return func(*bound.args, **bound.kwargs)
    return func(*args, **kwargs)


@functools.cache
def registry() -> dict[str, Entry]:
    """name -> :class:`Entry` for every public optimizer class of ``flarejax.optim``."""
    import dataclasses

    from ._rows import entries as topic_entries
    from ._variants import variants

    entries = _entries()
    if clash := entries.keys() & (rows := topic_entries()).keys():
        raise ValueError(f"registry rows defined twice: {sorted(clash)}")
    entries.update(rows)
    for name, found in variants().items():
        entries[name] = dataclasses.replace(entries[name], variants=found)
    return entries


def _entries() -> dict[str, Entry]:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from .. import optim as O
    from ._models import linesearch_extras, loss_extras

    def f32(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``factory(...)`` with its float hyperparameters held as float32 arrays, as flarejax."""
        return optax.inject_hyperparams(factory)(*args, **kwargs)

    def plain_sgd() -> Any:
        """The stateless step after a gradient transform: it compiles fast."""
        return O.SGD(1e-3)

    def sgd_after(*transforms: Any) -> Any:
        """optax twin of ``Chain(*transforms, plain_sgd())``."""
        return optax.chain(*transforms, optax.sgd(1e-3))

    def dense_kernel(params: Any) -> Any:
        return _only(params, "dense", 0)

    def dense_bias(params: Any) -> Any:
        return _only(params, "dense", 1)

    def adadelta_reference(learning_rate: float = 1.0, rho: float = 0.9, eps: float = 1e-6) -> Any:
        """Adadelta in float64 NumPy with |g|^2 (optax.adadelta squares without conjugating)."""
        e_g: dict[str, Any] = {}
        e_x: dict[str, Any] = {}

        def step(params: Any, grads: Any, _: int) -> Any:
            def one(path: Any, p: Any, g: Any) -> Any:
                g = np.asarray(g, np.complex128)
                k = jax.tree_util.keystr(path)
                eg = rho * e_g.get(k, 0.0) + (1 - rho) * np.abs(g) ** 2
                delta = np.sqrt(e_x.get(k, 0.0) + eps) / np.sqrt(eg + eps) * g
                e_g[k], e_x[k] = eg, rho * e_x.get(k, 0.0) + (1 - rho) * np.abs(delta) ** 2
                return (np.asarray(p, np.complex128) - learning_rate * delta).astype(p.dtype)

            return jax.tree_util.tree_map_with_path(one, params, grads)

        return step

    return {
        "ADOPT": Entry(
            make=lambda: O.ADOPT(0.05),
            example="ADOPT(1e-3)",
            reference=lambda: optax.inject_hyperparams(
                optax.contrib.adopt, static_args=("clip_value_fn",)
            )(0.05),
            complex=UNSUPPORTED,  # clips element-wise (optax.contrib.adopt fails too)
        ),
        "AMSGrad": Entry(
            make=lambda: O.AMSGrad(0.05),
            example="AMSGrad(1e-3)",
            reference=lambda: f32(optax.amsgrad, 0.05),
            complex=lambda: optax.amsgrad(0.05),
        ),
        "AdEMAMix": Entry(
            make=lambda: O.AdEMAMix(0.01),
            example="AdEMAMix(1e-3)",
            reference=lambda: f32(optax.contrib.ademamix, 0.01),
            complex=lambda: optax.contrib.ademamix(0.01),
        ),
        "AdaBelief": Entry(
            make=lambda: O.AdaBelief(0.05),
            example="AdaBelief(1e-3)",
            reference=lambda: f32(optax.adabelief, 0.05),
            complex=lambda: optax.adabelief(0.05),
        ),
        "Adadelta": Entry(
            make=lambda: O.Adadelta(1.0),
            example="Adadelta()",
            reference=lambda: f32(optax.adadelta, 1.0),
            complex=adadelta_reference,
            complex_note="optax squares without conjugating",
        ),
        "Adafactor": Entry(
            make=lambda: O.Adafactor(0.05),
            example="Adafactor()",
            reference=lambda: f32(optax.adafactor, 0.05),
            complex=lambda: optax.adafactor(0.05),
        ),
        "Adagrad": Entry(
            make=lambda: O.Adagrad(0.1),
            example="Adagrad(1e-2)",
            reference=lambda: f32(optax.adagrad, 0.1),
            complex=lambda: optax.adagrad(0.1),
        ),
        "Adam": Entry(
            make=lambda: O.Adam(0.05),
            example="Adam(1e-3)",
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
        ),
        "AdamW": Entry(
            make=lambda: O.AdamW(0.05),
            example="AdamW(1e-3)",
            reference=lambda: f32(optax.adamw, 0.05),
            complex=lambda: optax.adamw(0.05),
        ),
        "Adamax": Entry(
            make=lambda: O.Adamax(0.05),
            example="Adamax(1e-3)",
            reference=lambda: f32(optax.adamax, 0.05),
            complex=lambda: optax.adamax(0.05),
        ),
        "AdamaxW": Entry(
            make=lambda: O.AdamaxW(0.05),
            example="AdamaxW(1e-3)",
            reference=lambda: f32(optax.adamaxw, 0.05),
            complex=lambda: optax.adamaxw(0.05),
        ),
        "Adan": Entry(
            make=lambda: O.Adan(0.05),
            example="Adan(1e-3)",
            reference=lambda: f32(optax.adan, 0.05),
            complex=lambda: optax.adan(0.05),
        ),
        "AdaptiveGradClip": Entry(
            make=lambda: O.Chain(O.AdaptiveGradClip(0.1), plain_sgd()),
            example="AdaptiveGradClip(0.01)",
            reference=lambda: sgd_after(optax.adaptive_grad_clip(0.1)),
            complex=lambda: sgd_after(optax.adaptive_grad_clip(0.1)),
        ),
        "AddDecayedWeights": Entry(
            make=lambda: O.Chain(O.AddDecayedWeights(1e-4), plain_sgd()),
            example="AddDecayedWeights(1e-4)",
            reference=lambda: sgd_after(optax.add_decayed_weights(1e-4)),
            complex=lambda: sgd_after(optax.add_decayed_weights(1e-4)),
        ),
        "AddNoise": Entry(
            make=lambda: O.Chain(O.AddNoise(0.01, 0.55), plain_sgd()),
            example="AddNoise(0.01, 0.55)",
            reference=lambda: sgd_after(optax.add_noise(0.01, 0.55, key=jax.random.key(0))),
            complex=lambda: sgd_after(optax.add_noise(0.01, 0.55, key=jax.random.key(0))),
        ),
        "Centralize": Entry(
            make=lambda: O.Chain(O.Centralize(), plain_sgd()),
            example="Centralize()",
            reference=lambda: sgd_after(optax.centralize()),
            complex=lambda: sgd_after(optax.centralize()),
        ),
        "Chain": Entry(
            make=lambda: O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(0.05)),
            example="Chain(ClipByGlobalNorm(1.0), SGD(1e-3))",
            reference=lambda: optax.chain(optax.clip_by_global_norm(1.0), f32(optax.adam, 0.05)),
            complex=lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05)),
        ),
        "Clip": Entry(
            make=lambda: O.Chain(O.Clip(1.0), plain_sgd()),
            example="Clip(1.0)",
            reference=lambda: sgd_after(optax.clip(1.0)),
            complex=UNSUPPORTED,  # element-wise; optax.clip fails too
        ),
        "ClipByBlockRMS": Entry(
            make=lambda: O.Chain(O.ClipByBlockRMS(1.0), plain_sgd()),
            example="ClipByBlockRMS(1.0)",
            reference=lambda: sgd_after(optax.clip_by_block_rms(1.0)),
            complex=lambda: sgd_after(optax.clip_by_block_rms(1.0)),
        ),
        "ClipByGlobalNorm": Entry(
            make=lambda: O.Chain(O.ClipByGlobalNorm(1.0), plain_sgd()),
            example="ClipByGlobalNorm(1.0)",
            reference=lambda: sgd_after(optax.clip_by_global_norm(1.0)),
            complex=lambda: sgd_after(optax.clip_by_global_norm(1.0)),
        ),
        "EMA": Entry(
            make=lambda: O.EMA(O.Adam(0.05), 0.9),
            example="EMA(SGD(1e-3), 0.999)",
            reference=lambda: f32(optax.adam, 0.05),  # the model follows the wrapped optimizer
            complex=lambda: optax.adam(0.05),
        ),
        "Freeze": Entry(
            make=lambda: O.Chain(O.Freeze("dense.bias"), plain_sgd()),
            example='Freeze("bias")',
            reference=lambda: sgd_after(optax.masked(optax.set_to_zero(), dense_bias)),
            complex=None,
        ),
        "Fromage": Entry(
            make=lambda: O.Fromage(0.01),
            example="Fromage(1e-2)",
            reference=lambda: f32(optax.fromage, 0.01),
            complex=lambda: optax.fromage(0.01),
        ),
        "KeepParamsNonnegative": Entry(
            make=lambda: O.Chain(plain_sgd(), O.KeepParamsNonnegative()),
            example="KeepParamsNonnegative()",
            reference=lambda: optax.chain(optax.sgd(1e-3), optax.keep_params_nonnegative()),
            complex=UNSUPPORTED,  # complex numbers are not ordered
        ),
        "LAMB": Entry(
            make=lambda: O.LAMB(0.05),
            example="LAMB(1e-3)",
            reference=lambda: f32(optax.lamb, 0.05),
            complex=lambda: optax.lamb(0.05),
        ),
        "LARS": Entry(
            make=lambda: O.LARS(0.1),
            example="LARS(0.1)",
            reference=lambda: f32(optax.lars, 0.1),
            complex=lambda: optax.lars(0.1),
        ),
        "LBFGS": Entry(
            # Same arithmetic as optax.lbfgs, but jax.grad's conjugate gradient is no
            # descent direction: both line searches fail at step 3 after 20 bisections,
            # which amplify float32 rounding (step sizes 6.2417e-8 and 6.2444e-8), and
            # the runs part. The other properties still run.
            reason="optax.lbfgs needs its own line-search arguments: see tests/optim/test_lbfgs.py",
            make=lambda: O.LBFGS(),
            example="LBFGS()",
            complex=None,
            options={"extras": linesearch_extras},
        ),
        "Lion": Entry(
            make=lambda: O.Lion(0.01),
            example="Lion(1e-4)",
            reference=lambda: f32(optax.lion, 0.01),
            complex=lambda: optax.lion(0.01),
        ),
        "Lookahead": Entry(
            reason="optax.lookahead keeps two parameter sets: see tests/optim/test_lookahead.py",
            make=lambda: O.Lookahead(O.Adam(0.05), 5, 0.5),
            example="Lookahead(SGD(1e-3), 5, 0.5)",
            complex=None,
        ),
        "MADGRAD": Entry(
            make=lambda: O.MADGRAD(0.01),
            example="MADGRAD(1e-2)",
            reference=lambda: f32(optax.contrib.madgrad, 0.01),
            complex=UNSUPPORTED,  # a cube root (optax.contrib.madgrad fails too)
        ),
        "Masked": Entry(
            # Masked leaves the other parameters to the next member, as optax.masked.
            make=lambda: O.Chain(O.Masked(O.AddDecayedWeights(1e-3), "dense.kernel"), plain_sgd()),
            example='Masked(SGD(1e-3), "kernel")',
            reference=lambda: sgd_after(
                optax.masked(optax.add_decayed_weights(1e-3), dense_kernel)
            ),
            complex=None,
        ),
        "MasterWeights": Entry(
            make=lambda: O.MasterWeights(O.Adam(0.05)),
            example="MasterWeights(SGD(1e-3))",
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
            bfloat16={"skip": "its float32 master copy is more precise than optax in bfloat16"},
            complex_note="its master copy is complex64",
        ),
        "MultiSteps": Entry(
            make=lambda: O.MultiSteps(O.Adam(0.05), 2),
            example="MultiSteps(SGD(1e-3), 4)",
            reference=lambda: optax.MultiSteps(f32(optax.adam, 0.05), 2).gradient_transformation(),
            complex=lambda: optax.MultiSteps(
                optax.adam(0.05), 2, accumulator_dtype=jnp.complex64
            ).gradient_transformation(),
            complex_note="optax's float32 accumulator drops the imaginary part",
        ),
        "Muon": Entry(
            make=lambda: O.Muon(0.02),
            example="Muon(0.02)",
            reference=lambda: f32(optax.contrib.muon, 0.02),
            complex=lambda: optax.contrib.muon(0.02),
        ),
        "NAdam": Entry(
            make=lambda: O.NAdam(0.05),
            example="NAdam(1e-3)",
            reference=lambda: f32(optax.nadam, 0.05),
            complex=lambda: optax.nadam(0.05),
        ),
        "NAdamW": Entry(
            make=lambda: O.NAdamW(0.05),
            example="NAdamW(1e-3)",
            reference=lambda: f32(optax.nadamw, 0.05),
            complex=lambda: optax.nadamw(0.05),
        ),
        "NoisySGD": Entry(
            make=lambda: O.NoisySGD(1e-3),
            example="NoisySGD(1e-3)",
            reference=lambda: optax.noisy_sgd(1e-3, key=0),
            complex=lambda: optax.noisy_sgd(1e-3, key=0),
        ),
        "NovoGrad": Entry(
            make=lambda: O.NovoGrad(0.05),
            example="NovoGrad(1e-3)",
            reference=lambda: f32(optax.novograd, 0.05),
            complex=lambda: optax.novograd(0.05),
        ),
        "OptaxOptimizer": Entry(
            make=lambda: O.from_optax(optax.adam(0.05)),
            example="from_optax(optax.adam(1e-3))",
            reference=lambda: optax.adam(0.05),
            complex=lambda: optax.adam(0.05),
            options={
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
        "OptimisticGD": Entry(
            make=lambda: O.OptimisticGD(2e-4),
            example="OptimisticGD(1e-3)",
            reference=lambda: f32(optax.optimistic_gradient_descent, 2e-4),
            complex=lambda: optax.optimistic_gradient_descent(2e-4),
        ),
        "Partition": Entry(
            reason="optax.multi_transform takes labels: see tests/optim/test_partition.py",
            make=lambda: O.Partition({"dense.*": O.Adam(0.05)}, default=O.SGD(1e-3)),
            example='Partition({"kernel": Adam(1e-3)}, default=SGD(1e-3))',
            complex=None,
        ),
        "PolyakSGD": Entry(
            make=lambda: O.PolyakSGD(max_learning_rate=0.01),
            example="PolyakSGD()",
            reference=lambda: f32(optax.polyak_sgd, max_learning_rate=0.01),
            complex=lambda: optax.polyak_sgd(max_learning_rate=0.01),
            options={"extras": loss_extras},
        ),
        "Prodigy": Entry(
            make=lambda: O.Prodigy(),
            example="Prodigy()",
            reference=lambda: f32(optax.contrib.prodigy),
            complex=UNSUPPORTED,  # its distance estimate is a real inner product
        ),
        "RAdam": Entry(
            # Unrectified first steps are momentum SGD: Rosenbrock's gradients need a small rate.
            make=lambda: O.RAdam(1e-3),
            example="RAdam(1e-3)",
            reference=lambda: f32(optax.radam, 1e-3),
            complex=lambda: optax.radam(1e-3),
        ),
        "RMSProp": Entry(
            make=lambda: O.RMSProp(0.01),
            example="RMSProp(1e-3)",
            reference=lambda: f32(optax.rmsprop, 0.01),
            complex=lambda: optax.rmsprop(0.01),
        ),
        "ReduceLROnPlateau": Entry(
            reason="optax scales updates, not the rate: see tests/optim/test_plateau.py",
            make=lambda: O.ReduceLROnPlateau(O.Adam(0.05)),
            example="ReduceLROnPlateau(SGD(1e-3))",
            complex=None,
            options={"extras": loss_extras},
        ),
        "Rprop": Entry(
            make=lambda: O.Rprop(0.01),
            example="Rprop(1e-3)",
            reason="torch.optim.Rprop (optax is a step late): see tests/optim/test_rprop.py",
            complex=UNSUPPORTED,  # compares signs (optax.rprop fails too)
        ),
        "SGD": Entry(
            make=lambda: O.SGD(1e-3, momentum=0.9),
            example="SGD(1e-3)",
            reference=lambda: f32(optax.sgd, 1e-3, momentum=0.9),
            complex=lambda: optax.sgd(1e-3, momentum=0.9),
        ),
        "SM3": Entry(
            make=lambda: O.SM3(0.05),
            example="SM3(1e-2)",
            reason="optax.sm3 fails on scalar parameters: see tests/optim/test_sm3.py",
            complex=UNSUPPORTED,  # optax.sm3 rejects complex parameters
        ),
        "Scale": Entry(
            make=lambda: O.Scale(1e-3),
            example="Scale(0.1)",
            reference=lambda: f32(optax.sgd, 1e-3),
            complex=lambda: optax.sgd(1e-3),
        ),
        "ScaleByLearningRate": Entry(
            make=lambda: O.ScaleByLearningRate(1e-3),
            example="ScaleByLearningRate(1e-3)",
            reference=lambda: f32(optax.sgd, 1e-3),
            complex=lambda: optax.sgd(1e-3),
        ),
        "ScheduleFreeAdamW": Entry(
            make=lambda: O.ScheduleFreeAdamW(0.05),
            example="ScheduleFreeAdamW()",
            reference=lambda: f32(optax.contrib.schedule_free_adamw, 0.05),
            complex=lambda: optax.contrib.schedule_free_adamw(0.05),
        ),
        "SignSGD": Entry(
            make=lambda: O.SignSGD(0.01),
            example="SignSGD(1e-3)",
            reference=lambda: f32(optax.sign_sgd, 0.01),
            complex=lambda: optax.sign_sgd(0.01),
        ),
        "Signum": Entry(
            make=lambda: O.Signum(0.01),
            example="Signum(1e-3)",
            reference=lambda: f32(optax.signum, 0.01),
            complex=lambda: optax.signum(0.01),
        ),
        "SkipLargeUpdates": Entry(
            # The threshold is on the squared gradient norm: Rosenbrock's start is ~1e7.
            make=lambda: O.SkipLargeUpdates(O.Adam(0.05), 1e9),
            example="SkipLargeUpdates(SGD(1e-3), 1e4)",
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
        ),
        "SkipNonFinite": Entry(
            make=lambda: O.SkipNonFinite(O.Adam(0.05)),
            example="SkipNonFinite(SGD(1e-3))",
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
        ),
        "Yogi": Entry(
            make=lambda: O.Yogi(0.05),
            example="Yogi(1e-3)",
            reference=lambda: f32(optax.yogi, 0.05),
            complex=lambda: optax.yogi(0.05),
        ),
        "ZeroNans": Entry(
            make=lambda: O.Chain(O.ZeroNans(), plain_sgd()),
            example="ZeroNans()",
            reference=lambda: sgd_after(optax.zero_nans()),
            complex=lambda: sgd_after(optax.zero_nans()),
        ),
    }


def _only(params: Any, field: str, index: int) -> Any:
    """A mask true at ``params[field][index]`` only (the default models' ``dense`` layer)."""
    import jax

    def mark(path: Any, _: Any) -> bool:
        keys = [getattr(k, "key", getattr(k, "idx", getattr(k, "name", None))) for k in path]
        names = (index, ("kernel", "bias")[index])
        return keys[:1] == [field] and len(keys) == 2 and keys[1] in names

    return jax.tree_util.tree_map_with_path(mark, params)
