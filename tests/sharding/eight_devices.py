"""The 8-device checks, run in one subprocess by test_state_shardings.py (via conftest.py).

Run alone: ``JAX_PLATFORMS=cpu python tests/sharding/eight_devices.py`` (it sets
the device count itself). Prints one JSON object: check name -> [ok, detail].
Each check is independent; an exception fails that check only.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import json
import re
import sys
import tempfile
import time
import traceback
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import flarejax as flr
from flarejax._core import eager as _compile
from flarejax.sharding import ShardedState, restore, save

O = flr.optim
RESULTS: dict[str, list[Any]] = {}
MESH = Mesh(np.array(jax.devices()).reshape(2, 4), ("data", "model"))
FLAT = Mesh(np.array(jax.devices()), ("data",))
SHAPES = {"w": (64, 32), "b": (64,), "e": (8, 64)}
LAYOUTS = {
    "dp": {"w": P(), "b": P(), "e": P()},
    "fsdp": {"w": P(("data", "model")), "b": P(("data", "model")), "e": P(None, "model")},
    "tp": {"w": P(None, "model"), "b": P("model"), "e": P("data", "model")},
}
OPTS = {
    "SGD": lambda: O.SGD(0.1, momentum=0.9),
    "Adam": lambda: O.Adam(1e-2),
    "AdamW": lambda: O.AdamW(1e-2, weight_decay=0.1),
    "Lion": lambda: O.Lion(1e-3),
    "Adafactor": lambda: O.Adafactor(1e-2, min_dim_size_to_factor=8),
    "MARS": lambda: O.MARS(1e-2, weight_decay=0.1),
    "CautiousAdamW": lambda: O.Cautious(O.AdamW(1e-2, weight_decay=0.1)),
}


CHECKS: dict[str, Any] = {}


def check(name: str):
    def register(f):
        CHECKS[name] = f
        return f

    return register


def run(name: str) -> None:
    start = time.perf_counter()
    try:
        RESULTS[name] = [True, CHECKS[name]()]
    except Exception:
        RESULTS[name] = [False, traceback.format_exc(limit=6)]
    RESULTS[name].append(round(time.perf_counter() - start, 2))


def numpy_model() -> dict[str, np.ndarray]:
    r = np.random.default_rng(0)
    return {k: r.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}


def placed(model: dict[str, np.ndarray], layout: dict[str, P], mesh: Mesh = MESH) -> dict:
    return {k: jax.device_put(v, NamedSharding(mesh, layout[k])) for k, v in model.items()}


def grads_of(model: dict[str, Any], i: int) -> dict[str, Any]:
    return jax.tree.map(lambda p: jnp.sin(p * (i + 1)) * 0.1, model)


def param_state(opt: Any, model: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, state array, its parameter) for every state array shaped like its parameter."""
    out = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(opt)[0]:
        keys = [getattr(k, "key", None) for k in path]
        param = next((model[k] for k in keys if isinstance(k, str) and k in model), None)
        if param is not None and isinstance(leaf, jax.Array) and leaf.shape == param.shape:
            out.append((jax.tree_util.keystr(path), leaf, param))
    return out


def buffers(opt: Any, model: dict[str, Any]) -> list[tuple[int, ...]]:
    """The addresses of the shards of every state array shaped like its parameter."""
    return [
        tuple(s.data.unsafe_buffer_pointer() for s in leaf.addressable_shards)
        for _, leaf, _ in param_state(opt, model)
    ]


def assert_follows(opt: Any, model: dict[str, Any], when: str) -> int:
    entries = param_state(opt, model)
    assert entries, f"{when}: no state shaped like a parameter"
    for name, leaf, param in entries:
        assert leaf.sharding.is_equivalent_to(param.sharding, leaf.ndim), (
            f"{when}: {name} has {leaf.sharding}, its parameter {param.sharding}"
        )
    return len(entries)


def all_gathers(hlo: str) -> list[tuple[int, str]]:
    """(elements gathered, the instruction) for every all-gather of the compiled HLO."""
    out = []
    for line in hlo.splitlines():
        m = re.search(r"= \w+\[([\d,]*)\]\S* all-gather(-start)?\(", line)
        if m:
            out.append(
                (int(np.prod([int(n) for n in m.group(1).split(",") if n])), line.strip()[:120])
            )
    return out


def jit_step(opt: Any, model: Any, grads: Any) -> tuple[Any, Any]:
    return opt, opt(model, grads)


STEP = jax.jit(jit_step)


def follow(layout: str, name: str) -> str:
    model = placed(numpy_model(), LAYOUTS[layout])
    opt = OPTS[name]()
    opt.init(model)
    n = assert_follows(opt, model, "after init")
    hlo = STEP.lower(opt, model, grads_of(model, 0)).compile().as_text()
    gathers = all_gathers(hlo)
    if name == "Adafactor":
        # Its factored moments are vectors (a row and a column mean): moving them
        # is allowed, moving anything of a parameter's size is not.
        smallest = min(np.prod(s) for s in SHAPES.values() if len(s) > 1)
        assert all(n < smallest for n, _ in gathers), f"the jitted step gathers: {gathers}"
    else:
        assert not gathers, f"the jitted step gathers: {gathers}"
    before = _compile._run._cache_size()
    # Donated (updated in place): the new state lives in the old state's buffers.
    # Only the buffers' addresses are kept: an array still held is never donated.
    old = buffers(opt, model)
    model = opt(model, grads_of(model, 0))
    assert buffers(opt, model) == old, "the old state buffers were not donated"
    model = opt(model, grads_of(model, 1))
    assert_follows(opt, model, "after eager steps")
    assert _compile._run._cache_size() - before == 1, "the eager step compiled more than once"
    for k, p in model.items():
        assert p.sharding.is_equivalent_to(NamedSharding(MESH, LAYOUTS[layout][k]), p.ndim)
    return f"{n} state arrays follow; all-gathers: {gathers}"


FOLLOW = [
    ("dp", "Adam"),
    ("fsdp", "Adam"),
    ("tp", "Adam"),
    ("fsdp", "SGD"),
    ("fsdp", "AdamW"),
    ("tp", "Lion"),
    ("tp", "Adafactor"),
    ("fsdp", "MARS"),
    ("tp", "CautiousAdamW"),
]
for _layout, _name in FOLLOW:
    check(f"follow[{_layout}-{_name}]")(lambda _l=_layout, _n=_name: follow(_l, _n))


# Optimizers whose state has matrices per parameter axis (Shampoo's statistics,
# SOAP's eigenbases): those of a sharded axis are sharded by rows the same way.
# The last item: whether to run eager steps too (two compilations more).
FACTORS = {
    "Shampoo": (
        lambda: O.Shampoo(1e-2, matrix_eps=1e-3, block_size=32, precondition_frequency=2),
        ("stats", "preconditioners"),
        True,
    ),
    # Axes of 64 unrotated: the eigenbasis of a rank-deficient statistic is arbitrary
    # within its null space, and 8 devices would pick another one than 1 device.
    "SOAP": (
        lambda: O.SOAP(1e-2, precondition_frequency=2, max_precond_dim=32),
        ("gg", "q"),
        True,
    ),
    # Triangular factors of the axes of 8 and 32, diagonal ones (vectors) of those of
    # 64, all sharded; fitted every step. Jitted steps only: the eager step places
    # factors as for Shampoo and SOAP, and PSGDKron's compilations are slow.
    "PSGDKron": (lambda: O.PSGDKron(1e-2, max_size_triangular=32), ("Q",), False),
}


def factors_follow(layout: str, name: str) -> str:
    make, dicts, eager = FACTORS[name]
    model = placed(numpy_model(), LAYOUTS[layout])
    opt = make()
    opt.init(model)

    def check_factors(opt: Any, when: str) -> int:
        n = 0
        for d in dicts:
            for key, value in getattr(opt, d).items():
                param = model[key]
                spec = tuple(param.sharding.spec) + (None,) * param.ndim
                for leaf, axis in zip(
                    jax.tree.leaves(value), opt.factor_axes(key, param.shape), strict=True
                ):
                    want = NamedSharding(MESH, P(spec[axis]) if spec[axis] else P())
                    assert leaf.sharding.is_equivalent_to(want, leaf.ndim), (
                        f"{when}: {d}[{key!r}] of axis {axis} has {leaf.sharding.spec}, "
                        f"want {want.spec}"
                    )
                    n += 1
        return n

    n = check_factors(opt, "after init")
    assert_follows(opt, model, "after init")
    before = STEP._cache_size()
    for i in range(3):  # a refresh at steps 1 and 3
        opt, model = STEP(opt, model, grads_of(model, i))
    assert STEP._cache_size() - before == 1, "the jitted step compiled more than once"
    check_factors(opt, "after jitted steps")
    steps = 3
    if eager:
        # The eager step ties each result to the array it replaces (shard_alike), which
        # lets XLA shard a factor replicated over some mesh axis further, once: at most
        # two compilations, then none.
        before = _compile._run._cache_size()
        for i in range(3, 5):
            model = opt(model, grads_of(model, i))
        compiled = _compile._run._cache_size() - before
        assert compiled <= 2, f"the eager steps compiled {compiled} times"
        before = _compile._run._cache_size()
        model = opt(model, grads_of(model, 5))
        assert _compile._run._cache_size() == before, "the third eager step compiled again"
        steps = 6
    # Inverse roots and eigenbases amplify the rounding of sharded reductions a little.
    one = make()
    one_model = jax.tree.map(jnp.asarray, numpy_model())
    one.init(one_model)  # built before the first step: its eager steps compile once
    diff = close(model, train(one, one_model, steps=steps), rtol=1e-4, atol=1e-5)
    return f"{n} factors follow their axes; largest difference to 1 device {diff:.2g}"


for _layout, _name in (("fsdp", "Shampoo"), ("tp", "SOAP"), ("tp", "PSGDKron")):
    check(f"factors_follow[{_layout}-{_name}]")(lambda _l=_layout, _n=_name: factors_follow(_l, _n))


@check("follow_lazy")
def _() -> str:
    """No init: the state built inside the first step (eager, and under jax.jit) follows too."""
    model = placed(numpy_model(), LAYOUTS["fsdp"])
    opt = O.Adam(1e-2)
    opt(model, grads_of(model, 0))
    assert_follows(opt, model, "eager lazy build")
    opt2, _ = STEP(O.Adam(1e-2), model, grads_of(model, 0))
    assert_follows(opt2, model, "lazy build under jax.jit")
    return "ok"


@check("follow_init_in_jit")
def _() -> str:
    """opt.init inside the user's jax.jit: the state is placed as its parameters."""
    model = placed(numpy_model(), LAYOUTS["tp"])

    @jax.jit
    def fresh(model: Any) -> Any:
        opt = O.Adam(1e-2)
        opt.init(model)
        return opt

    return f"{assert_follows(fresh(model), model, 'init under jax.jit')} state arrays follow"


def train(opt: Any, model: Any, steps: int = 4) -> Any:
    for i in range(steps):
        model = opt(model, grads_of(model, i))
    return model


def close(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-6) -> float:
    worst = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)
        worst = max(worst, float(np.max(np.abs(x - y))))
    return worst


@check("same_numbers")
def _() -> str:
    """8 devices (FSDP, TP, ZeRO-1) give the parameters of 1 device."""
    one = train(O.AdamW(1e-2, weight_decay=0.1), numpy_model())
    diffs = {}
    for layout in ("fsdp", "tp"):
        model = placed(numpy_model(), LAYOUTS[layout])
        opt = O.AdamW(1e-2, weight_decay=0.1)
        opt.init(model)
        diffs[layout] = close(train(opt, model), one)
    model = placed(numpy_model(), LAYOUTS["dp"], FLAT)
    opt = ShardedState(O.AdamW(1e-2, weight_decay=0.1), FLAT)
    opt.init(model)
    diffs["zero"] = close(train(opt, model), one)
    return f"largest differences {diffs}"


@check("zero")
def _() -> str:
    """ZeRO-1: state 1/8 per device, parameters replicated, donated, compiled once."""
    model = placed(numpy_model(), LAYOUTS["dp"], FLAT)
    opt = ShardedState(O.Adam(1e-2), FLAT, axis="data")
    opt.init(model)
    state = param_state(opt, model)
    for name, leaf, _ in state:
        per_device = leaf.addressable_shards[0].data.size
        assert per_device * 8 == leaf.size, f"{name}: {per_device} of {leaf.size} per device"
    del state, leaf  # a state array still held is never donated
    before = _compile._run._cache_size()
    old = buffers(opt, model)
    model = opt(model, grads_of(model, 0))
    assert buffers(opt, model) == old, "the old state buffers were not donated"
    model = train(opt, model, 2)
    assert _compile._run._cache_size() - before == 1, "the eager step compiled more than once"
    for name, leaf, _ in param_state(opt, model):
        assert leaf.addressable_shards[0].data.size * 8 == leaf.size, f"{name} left its shards"
    for k, p in model.items():
        assert p.sharding.is_fully_replicated, f"parameter {k} is no longer replicated"
    hlo = STEP.lower(opt, model, grads_of(model, 0)).compile().as_text()
    gathers = all_gathers(hlo)
    # The one gather ZeRO-1 needs: each sharded update, back to the replicated parameter.
    assert len(gathers) <= len(SHAPES), gathers
    assert sum(n for n, _ in gathers) <= sum(np.prod(s) for s in SHAPES.values()), gathers
    opt2, model2 = STEP(opt, model, grads_of(model, 0))
    for name, leaf, _ in param_state(opt2, model2):
        assert leaf.addressable_shards[0].data.size * 8 == leaf.size, f"jit: {name} unsharded"
    nested = ShardedState(O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(1e-2)), FLAT)
    one = train(O.Chain(O.ClipByGlobalNorm(1.0), O.Adam(1e-2)), numpy_model())
    nested.init(placed(numpy_model(), LAYOUTS["dp"], FLAT))
    worst = close(train(nested, placed(numpy_model(), LAYOUTS["dp"], FLAT)), one)
    return f"{len(gathers)} all-gathers (updates); nested Chain max diff {worst:.2e}"


@check("checkpoint")
def _() -> str:
    """Save a ZeRO-sharded optimizer and an FSDP model; restore with like's shardings."""
    model = placed(numpy_model(), LAYOUTS["dp"], FLAT)
    opt = ShardedState(O.Adam(1e-2), FLAT)
    opt.init(model)
    model = train(opt, model, 2)
    fsdp = placed(numpy_model(), LAYOUTS["fsdp"])
    with tempfile.TemporaryDirectory() as d:
        save(f"{d}/ckpt", opt, fsdp)
        # A different mesh for the restore: 4 devices.
        four = Mesh(np.array(jax.devices()[:4]), ("data",))
        like_model = placed(numpy_model(), LAYOUTS["dp"], four)
        like = ShardedState(O.Adam(1e-2), four)
        like.init(like_model)
        like_fsdp = placed(numpy_model(), LAYOUTS["tp"])
        new, new_fsdp = restore(f"{d}/ckpt", like=(like, like_fsdp))
    for (name, a, _), (_, b, _) in zip(param_state(new, like_model), param_state(like, like_model)):
        assert a.sharding == b.sharding, f"{name}: restored as {a.sharding}, like {b.sharding}"
    for k in fsdp:
        assert new_fsdp[k].sharding == like_fsdp[k].sharding
    close(new_fsdp, fsdp, 0, 0)
    close(jax.tree.leaves(new), jax.tree.leaves(opt), 0, 0)
    assert jax.tree.structure(new) == jax.tree.structure(like)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(like)):
        assert jax.typeof(a) == jax.typeof(b), (jax.typeof(a), jax.typeof(b))
    # Both continue alike.
    m4 = placed({k: np.asarray(v) for k, v in model.items()}, LAYOUTS["dp"], four)
    close(train(new, m4, 1), train(opt, model, 1))
    return "restored onto a 4-device mesh, shardings of like, values equal"


@check("bad_placement")
def _() -> str:
    """Shardings that cannot hold the state: clear errors, at once."""
    model = placed(numpy_model(), LAYOUTS["dp"], FLAT)
    opt = O.Adam(1e-2)
    opt.init(model)
    messages = []
    with tempfile.TemporaryDirectory() as d:
        save(f"{d}/ckpt", opt)
        broken = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), opt
        )
        three = Mesh(np.array(jax.devices()[:3]), ("x",))
        broken.m["b"] = jax.ShapeDtypeStruct(
            (64,), jnp.float32, sharding=NamedSharding(three, P("x"))
        )
        try:
            restore(f"{d}/ckpt", like=broken)
            raise AssertionError("no error for 64 rows over 3 devices")
        except ValueError as e:
            assert "m.b" in str(e), str(e)
            messages.append(str(e).splitlines()[0][:160])
    # State committed to other devices than the parameters: an error, not a hang.
    other = Mesh(np.array(jax.devices()[4:]), ("data",))
    moved = jax.tree.map(
        lambda x: jax.device_put(x, NamedSharding(other, P())) if x.ndim else x, opt
    )
    start = time.perf_counter()
    try:
        moved(model, grads_of(model, 0))
        raise AssertionError("no error for state on other devices")
    except ValueError as e:
        assert "devices" in str(e), str(e)
        messages.append(str(e).splitlines()[0][:120])
    assert time.perf_counter() - start < 30
    try:
        ShardedState(O.Adam(1e-2), FLAT, axis="model")
        raise AssertionError("no error for a missing axis")
    except ValueError as e:
        messages.append(str(e))
    return " | ".join(messages)


@check("to_optax")
def _() -> str:
    """The bridged state: born sharded like the parameters, and kept so by every update."""
    model = placed(numpy_model(), LAYOUTS["fsdp"])
    tx = O.to_optax(O.Adam(1e-2))
    state = tx.init(model)
    assert_follows(state, model, "to_optax init")
    shardings = [x.sharding for x in jax.tree.leaves(state)]
    # bfloat16 gradients for float32 parameters: the state keeps its dtypes too.
    grads = jax.tree.map(lambda g: g.astype(jnp.bfloat16), grads_of(model, 0))
    for when, update in (("eager", tx.update), ("jit", jax.jit(tx.update))):
        _, new = update(grads, state, model)
        for s, x, y in zip(shardings, jax.tree.leaves(new), jax.tree.leaves(state)):
            assert x.dtype == y.dtype, f"{when} update: {x.dtype} != {y.dtype}"
            assert x.sharding.is_equivalent_to(s, x.ndim), f"{when} update: {x.sharding} != {s}"
    lowered = jax.jit(tx.init).lower(model).compile().output_shardings
    for s, x in zip(jax.tree.leaves(lowered), jax.tree.leaves(state)):
        assert s.is_equivalent_to(x.sharding, x.ndim), f"output_shardings: {s} != {x.sharding}"
    return "ok"


if __name__ == "__main__":
    for name in sys.argv[1:] or CHECKS:
        run(name)
    print(json.dumps(RESULTS))
