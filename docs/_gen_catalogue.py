"""Generate ``docs/catalogue_table.rst.inc``: each built-in optimizer's state size.

Run ``python docs/_gen_catalogue.py`` after adding an optimizer (the test suite
checks that the file is up to date). Each optimizer is built with the arguments
below, ``init``-ed on a reference model (a float32 ``(256, 128)`` matrix and a
``(128,)`` vector) under ``jax.eval_shape`` (shapes only: nothing is allocated
or compiled) and measured with :func:`flarejax.optim._summary.state_ratio`:
the bytes of its state (hyperparameters aside) over the bytes of the parameters.
Wrappers and transforms run around ``SGD`` without momentum, which keeps no
state, so their number is their own state. The complex column builds the same
optimizer on the complex64 copy of the model: ``no`` when that raises the
``TypeError`` of optimizers that cannot take complex parameters.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import flarejax as flr
from flarejax.optim._summary import state_ratio

O = flr.optim
# An include fragment, not a page: Sphinx and the page tests read only ``*.rst``.
OUT = Path(__file__).resolve().parent / "catalogue_table.rst.inc"
MODEL = {"kernel": jnp.zeros((256, 128), jnp.float32), "bias": jnp.zeros(128, jnp.float32)}
SGD = "SGD(1e-3)"


def _sgd() -> Any:
    return O.SGD(1e-3)


# name -> (how it is built, as text; factory)
BUILT: dict[str, tuple[str, Callable[[], Any]]] = {
    "ADOPT": ("ADOPT(1e-3)", lambda: O.ADOPT(1e-3)),
    "AMSGrad": ("AMSGrad(1e-3)", lambda: O.AMSGrad(1e-3)),
    "AdEMAMix": ("AdEMAMix(1e-3)", lambda: O.AdEMAMix(1e-3)),
    "AdaBelief": ("AdaBelief(1e-3)", lambda: O.AdaBelief(1e-3)),
    "Adadelta": ("Adadelta()", lambda: O.Adadelta()),
    "Adafactor": ("Adafactor()", lambda: O.Adafactor()),
    "Adagrad": ("Adagrad(1e-2)", lambda: O.Adagrad(1e-2)),
    "Adam": ("Adam(1e-3)", lambda: O.Adam(1e-3)),
    "AdamW": ("AdamW(1e-3)", lambda: O.AdamW(1e-3)),
    "Adamax": ("Adamax(1e-3)", lambda: O.Adamax(1e-3)),
    "AdamaxW": ("AdamaxW(1e-3)", lambda: O.AdamaxW(1e-3)),
    "Adan": ("Adan(1e-3)", lambda: O.Adan(1e-3)),
    "AdaptiveGradClip": ("AdaptiveGradClip(0.01)", lambda: O.AdaptiveGradClip(0.01)),
    "AddDecayedWeights": ("AddDecayedWeights(1e-4)", lambda: O.AddDecayedWeights(1e-4)),
    "AddNoise": ("AddNoise(0.01, 0.55)", lambda: O.AddNoise(0.01, 0.55)),
    "Centralize": ("Centralize()", lambda: O.Centralize()),
    "Chain": (
        f"Chain(ClipByGlobalNorm(1.0), {SGD})",
        lambda: O.Chain(O.ClipByGlobalNorm(1.0), _sgd()),
    ),
    "Clip": ("Clip(1.0)", lambda: O.Clip(1.0)),
    "ClipByBlockRMS": ("ClipByBlockRMS(1.0)", lambda: O.ClipByBlockRMS(1.0)),
    "ClipByGlobalNorm": ("ClipByGlobalNorm(1.0)", lambda: O.ClipByGlobalNorm(1.0)),
    "EMA": (f"EMA({SGD}, 0.999)", lambda: O.EMA(_sgd(), 0.999)),
    "Freeze": ('Freeze("bias")', lambda: O.Freeze("bias")),
    "Fromage": ("Fromage(1e-2)", lambda: O.Fromage(1e-2)),
    "KeepParamsNonnegative": ("KeepParamsNonnegative()", lambda: O.KeepParamsNonnegative()),
    "LAMB": ("LAMB(1e-3)", lambda: O.LAMB(1e-3)),
    "LARS": ("LARS(0.1)", lambda: O.LARS(0.1)),
    "LBFGS": ("LBFGS()", lambda: O.LBFGS()),
    "Lion": ("Lion(1e-4)", lambda: O.Lion(1e-4)),
    "Lookahead": (f"Lookahead({SGD}, 5, 0.5)", lambda: O.Lookahead(_sgd(), 5, 0.5)),
    "MADGRAD": ("MADGRAD(1e-2)", lambda: O.MADGRAD(1e-2)),
    "Masked": (f'Masked({SGD}, "kernel")', lambda: O.Masked(_sgd(), "kernel")),
    "MasterWeights": (f"MasterWeights({SGD})", lambda: O.MasterWeights(_sgd())),
    "MultiSteps": (f"MultiSteps({SGD}, 4)", lambda: O.MultiSteps(_sgd(), 4)),
    "Muon": ("Muon(0.02)", lambda: O.Muon(0.02)),
    "NAdam": ("NAdam(1e-3)", lambda: O.NAdam(1e-3)),
    "NAdamW": ("NAdamW(1e-3)", lambda: O.NAdamW(1e-3)),
    "NoisySGD": ("NoisySGD(1e-3)", lambda: O.NoisySGD(1e-3)),
    "NovoGrad": ("NovoGrad(1e-3)", lambda: O.NovoGrad(1e-3)),
    "OptaxOptimizer": ("from_optax(optax.adam(1e-3))", lambda: _from_optax()),
    "OptimisticGD": ("OptimisticGD(1e-3)", lambda: O.OptimisticGD(1e-3)),
    "Partition": (
        f'Partition({{"kernel": Adam(1e-3)}}, default={SGD})',
        lambda: O.Partition({"kernel": O.Adam(1e-3)}, default=_sgd()),
    ),
    "PolyakSGD": ("PolyakSGD()", lambda: O.PolyakSGD()),
    "Prodigy": ("Prodigy()", lambda: O.Prodigy()),
    "RAdam": ("RAdam(1e-3)", lambda: O.RAdam(1e-3)),
    "RMSProp": ("RMSProp(1e-3)", lambda: O.RMSProp(1e-3)),
    "ReduceLROnPlateau": (f"ReduceLROnPlateau({SGD})", lambda: O.ReduceLROnPlateau(_sgd())),
    "Rprop": ("Rprop(1e-3)", lambda: O.Rprop(1e-3)),
    "SGD": (SGD, _sgd),
    "SM3": ("SM3(1e-2)", lambda: O.SM3(1e-2)),
    "Scale": ("Scale(0.1)", lambda: O.Scale(0.1)),
    "ScaleByLearningRate": ("ScaleByLearningRate(1e-3)", lambda: O.ScaleByLearningRate(1e-3)),
    "ScheduleFreeAdamW": ("ScheduleFreeAdamW()", lambda: O.ScheduleFreeAdamW()),
    "SignSGD": ("SignSGD(1e-3)", lambda: O.SignSGD(1e-3)),
    "Signum": ("Signum(1e-3)", lambda: O.Signum(1e-3)),
    "SkipLargeUpdates": (f"SkipLargeUpdates({SGD}, 1e4)", lambda: O.SkipLargeUpdates(_sgd(), 1e4)),
    "SkipNonFinite": (f"SkipNonFinite({SGD})", lambda: O.SkipNonFinite(_sgd())),
    "Yogi": ("Yogi(1e-3)", lambda: O.Yogi(1e-3)),
    "ZeroNans": ("ZeroNans()", lambda: O.ZeroNans()),
}


def _from_optax() -> Any:
    import optax

    return O.from_optax(optax.adam(1e-3))


# Complex-capable optimizers whose optax 0.2.8 counterpart mishandles complex
# parameters (flarejax is right and differs): what the table says about them.
OPTAX_DIFFERS = {
    "Adadelta": "optax squares without conjugating",
    "MasterWeights": "its master copy is complex64",
    "MultiSteps": "optax's float32 accumulator drops the imaginary part",
}


def _loss(model: Any) -> Any:
    return sum(jnp.sum(jnp.abs(x) ** 2) for x in model.values())


def builtins() -> list[str]:
    """Every public optimizer class of ``flarejax.optim``."""
    return sorted(
        name
        for name in O.__all__
        if isinstance(getattr(O, name), type)
        and issubclass(getattr(O, name), O.Optimizer)
        and getattr(O, name) is not O.Optimizer
    )


def _abstract(name: str, model: Any) -> Any:
    """The optimizer ``name`` after ``init`` on ``model``, as shapes (``jax.eval_shape``)."""
    make = BUILT[name][1]

    def built(**extras: Any) -> Any:
        opt = make()
        opt.init(model, **extras)
        return opt

    try:
        return jax.eval_shape(built)
    except TypeError as e:
        if "does not support complex" in str(e):
            raise
    except Exception:
        pass
    # Optimizers that need the loss (and line searches, its function) to step.
    return jax.eval_shape(functools.partial(built, loss=jnp.zeros((), jnp.float32), loss_fn=_loss))


def measure(name: str) -> float:
    """State bytes over parameter bytes, from shapes alone (``jax.eval_shape``)."""
    return state_ratio(_abstract(name, MODEL), MODEL)


def complex_support(name: str) -> str:
    """``yes`` or ``no``: whether ``name`` steps complex parameters (``no``: it raises)."""
    try:
        _abstract(name, {k: v.astype(jnp.complex64) for k, v in MODEL.items()})
    except TypeError as e:
        if "does not support complex" in str(e):
            return "no"
        raise
    return f"yes ({OPTAX_DIFFERS[name]})" if name in OPTAX_DIFFERS else "yes"


def table() -> str:
    missing = sorted(set(builtins()) - BUILT.keys())
    if missing:
        raise SystemExit(f"docs/_gen_catalogue.py has no entry for {missing}")
    lines = [
        ".. Generated by docs/_gen_catalogue.py: do not edit, run it again.",
        "",
        ".. csv-table:: State of each built-in optimizer, in bytes, as a multiple of the "
        "parameters' bytes (float32, after ``init``), and whether it takes complex "
        "parameters (``no``: its first step raises a ``TypeError`` naming the parameter)",
        '   :header: "Optimizer", "State / parameters", "Complex", "Measured on"',
        "   :widths: 22, 12, 26, 40",
        "",
    ]
    for name in builtins():
        text = BUILT[name][0].replace('"', '""')
        lines.append(
            f'   ":class:`~flarejax.optim.{name}`", "{measure(name):.2f}", '
            f'"{complex_support(name)}", "``{text}``"'
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = table()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != out:
            print(f"{OUT} is out of date: run python docs/_gen_catalogue.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(out)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
