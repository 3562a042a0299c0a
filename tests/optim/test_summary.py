"""``summary``, ``state_bytes``, ``state_ratio``: the numbers, by hand, and the table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import flarejax as flr
from flarejax.optim._interop._summary import (
    param_bytes,
    state_bytes,
    state_entries,
    state_ratio,
    summary,
)

O = flr.optim
MODEL = {"w": jnp.zeros((256, 128)), "b": jnp.zeros(128)}
P = (256 * 128 + 128) * 4


def test_adam_state_is_two_copies_of_the_parameters():
    opt = O.Adam(1e-3)
    assert state_bytes(opt) == 4  # only the step counter before init
    opt.init(MODEL)
    assert param_bytes(MODEL) == P
    assert state_bytes(opt) == 2 * P + 4
    assert state_ratio(opt, MODEL) == pytest.approx(2.0, abs=1e-4)
    entries = {(e["parameter"], e["entry"]): e for e in state_entries(opt)}
    assert entries["w", "m"] == {
        "parameter": "w",
        "entry": "m",
        "shape": (256, 128),
        "dtype": "float32",
        "bytes": 256 * 128 * 4,
    }
    assert entries[None, "t"]["dtype"] == "uint32"
    # Hyperparameters are not state.
    assert not any(e["entry"] in ("learning_rate", "b1", "b2", "eps") for e in entries.values())


def test_nested_and_bfloat16():
    model = {"w": jnp.zeros((4, 4), jnp.bfloat16)}
    opt = O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(1e-3))
    opt.init(model)
    names = {(e["parameter"], e["entry"]) for e in state_entries(opt)}
    assert {("w", "opts.1.m"), ("w", "opts.1.v")} <= names
    assert state_bytes(opt) == 2 * 32 + sum(
        e["bytes"] for e in state_entries(opt) if e["parameter"] is None
    )
    sgd = O.SGD(0.1)  # no momentum: no per-parameter state, only the step counter
    sgd.init(model)
    assert state_bytes(sgd) == 4 and state_ratio(sgd, model) == 4 / 32


def test_summary_text():
    opt = O.Adam(1e-3)
    assert "  no per-parameter state yet: opt.init(model) or a step builds it" in summary(opt)
    opt.init(MODEL)
    text = summary(opt, MODEL)
    lines = text.splitlines()
    assert lines[0] == "Adam"
    assert "  learning_rate  0.001" in lines
    assert any(line.split() == ["w", "v", "(256,", "128)", "float32", "131072"] for line in lines)
    assert lines[-1] == (
        "total: 5 arrays, 263,172 bytes; parameters 131,584 bytes; state/parameters 2.00"
    )
    schedule = O.SGD(lambda count: 0.1 / (1 + count))
    assert ["learning_rate", "0.1"] in [line.split() for line in summary(schedule).splitlines()]
    with pytest.raises(ValueError, match="no parameters"):
        state_ratio(opt, {"n": 3})
    with pytest.raises(TypeError, match="expected a flarejax Optimizer"):
        summary("adam")


def test_catalogue_table_is_up_to_date():
    script = Path(__file__).resolve().parents[2] / "docs" / "_gen_catalogue.py"
    spec = importlib.util.spec_from_file_location("_gen_catalogue", script)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.OUT.read_text() == gen.table(), "run python docs/_gen_catalogue.py"
    assert gen.measure("Adam") == pytest.approx(2.0, abs=1e-4)


def test_measuring_from_shapes_alone():
    """``jax.eval_shape`` of a function that builds and inits: nothing allocated."""

    def built():
        opt = O.Adam(1e-3)
        opt.init(MODEL)
        return opt

    abstract = jax.eval_shape(built)
    assert state_bytes(abstract) == 2 * P + 4
