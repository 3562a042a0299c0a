import os
import subprocess
import sys
import textwrap
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

import flarejax as flr
from flarejax import _checkpoint
from flarejax._checkpoint import load, save
from flarejax.optim._interop._optax import from_optax
from flarejax.optim._interop._state_dict import load_state_dict, state_dict


def _model(dtype=jnp.float32):
    r = np.random.default_rng(0)
    return {
        "enc": [{"kernel": jnp.asarray(r.normal(size=(3, 4)), dtype), "bias": jnp.zeros(4, dtype)}],
        "steps": jnp.arange(3),
        "scale": 2.0,
        "name": "mlp",
        "act": jax.nn.relu,
    }


def _grads(model):
    g = jax.tree.map(lambda x: jnp.cos(x).astype(x.dtype), model["enc"])
    return {"enc": g, "steps": None, "scale": None, "name": None, "act": None}


def _trained(make=lambda: flr.optim.Adam(0.01), dtype=jnp.float32, steps=3):
    opt, model = make(), _model(dtype)
    for _ in range(steps):
        model = opt(model, _grads(model))
    return opt, model


def _assert_same(a, b):
    la, ta = jax.tree.flatten(a)
    lb, tb = jax.tree.flatten(b)
    assert ta == tb
    for x, y in zip(la, lb):
        assert type(x) is type(y)
        if isinstance(x, jax.Array):
            assert jax.typeof(x) == jax.typeof(y)
        np.testing.assert_array_equal(x, y)


def test_round_trip_keeps_values_dtypes_weak_types_and_code(tmp_path):
    path = tmp_path / "ckpt.npz"
    opt, model = _trained(dtype=jnp.bfloat16)
    save(path, opt, model)
    fresh = flr.optim.Adam(0.5)
    new_opt, new_model = load(path, like=(fresh, _model(jnp.bfloat16)))
    _assert_same((new_opt, new_model), (opt, model))
    assert new_model["act"] is jax.nn.relu and new_model["name"] == "mlp"
    assert float(fresh.learning_rate) == 0.5 and fresh.m == {}  # like is not modified
    # A single tree comes back as itself; abstract leaves are fine as like.
    save(path, model["enc"])
    like = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), model["enc"])
    _assert_same(load(path, like=like), model["enc"])


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    opt, model = _trained()
    save(path, opt, model)
    save(path, opt, model)  # over an existing file
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    before = path.read_bytes()

    def broken(f, **entries):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(_checkpoint.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        save(path, opt, model)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.npz"]


_TRAIN = textwrap.dedent(
    """
    import sys

    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import flarejax as flr
    from flarejax._checkpoint import load, save
    from flarejax.optim._interop._optax import from_optax


    def fresh():
        r = np.random.default_rng(0)
        model = {
            "l1": {"w": jnp.asarray(r.normal(size=(4, 8)) * 0.5, jnp.float32), "b": jnp.zeros(8)},
            "l2": {"w": jnp.asarray(r.normal(size=(8, 1)) * 0.5, jnp.float32), "b": jnp.zeros(1)},
        }
        a = flr.optim.Adam(optax.linear_schedule(0.01, 0.001, 2000))
        b = from_optax(
            optax.chain(
                optax.clip_by_global_norm(1.0),
                optax.adamw(optax.cosine_decay_schedule(0.01, 2000)),
            )
        )
        a.init(model)
        b.init(model)
        return (a, b), (model, model)


    def loss(m, x, y):
        h = jnp.tanh(x @ m["l1"]["w"] + m["l1"]["b"])
        return jnp.mean((h @ m["l2"]["w"] + m["l2"]["b"] - y) ** 2)


    @jax.jit
    def train(opts, models, start, stop):
        def body(i, carry):
            opts, models = carry
            x = jax.random.normal(jax.random.fold_in(jax.random.key(0), i), (16, 4))
            y = jnp.sin(x).sum(axis=1, keepdims=True)
            models = tuple(o(m, jax.grad(loss)(m, x, y)) for o, m in zip(opts, models))
            return opts, models

        return jax.lax.fori_loop(start, stop, body, (opts, models))


    if __name__ == "__main__":
        opts, models = fresh()
        loaded = load(sys.argv[1], like=(*opts, *models))
        opts, models = train(loaded[:2], loaded[2:], 1000, 2000)
        save(sys.argv[2], *models)
    """
)


def test_resume_in_a_new_process_is_bit_for_bit(tmp_path):
    (tmp_path / "resume_train.py").write_text(_TRAIN)
    sys.path.insert(0, str(tmp_path))
    try:
        import resume_train as rt
    finally:
        sys.path.remove(str(tmp_path))
    opts, models = rt.fresh()
    _, straight = rt.train(opts, models, 0, 2000)
    opts, models = rt.train(opts, models, 0, 1000)
    save(tmp_path / "half.npz", *opts, *models)
    subprocess.run(
        [
            sys.executable,
            str(tmp_path / "resume_train.py"),
            str(tmp_path / "half.npz"),
            str(tmp_path / "end.npz"),
        ],
        check=True,
        cwd=tmp_path,
        timeout=120,
    )
    resumed = load(tmp_path / "end.npz", like=models)
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)
    assert not np.array_equal(straight[0]["l1"]["w"], models[0]["l1"]["w"])


# -- bad files and mismatches: each error names what differs --------------------------


def test_truncated_corrupted_and_foreign_files(tmp_path):
    path = tmp_path / "ckpt.npz"
    opt, model = _trained()
    save(path, opt, model)
    data = path.read_bytes()
    like = (flr.optim.Adam(0.01), _model())
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut.npz'.*truncated or corrupted"):
        load(tmp_path / "cut.npz", like=like)
    broken = bytearray(data)
    at = data.index(b"PK\x03\x04", 10) - 20  # inside the first member's data
    broken[at] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(broken))
    with pytest.raises(ValueError, match=r"truncated or corrupted"):
        load(tmp_path / "bad.npz", like=like)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"not an \.npz archive"):
        load(tmp_path / "one.npy", like=like)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"is not a flarejax checkpoint"):
        load(tmp_path / "other.npz", like=like)
    with zipfile.ZipFile(path) as z:
        entries = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    np.savez(tmp_path / "future.npz", **{**entries, "__flarejax_checkpoint__": np.asarray(99)})
    with pytest.raises(ValueError, match=r"checkpoint format 99"):
        load(tmp_path / "future.npz", like=like)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz", like=like)


_RAN = []


def _record(x):
    _RAN.append(x)
    return x


class _Payload:
    def __reduce__(self):
        return (_record, ("unpickled",))


def test_never_unpickles(tmp_path):
    np.savez(
        tmp_path / "evil.npz",
        __flarejax_checkpoint__=np.asarray(1),
        x=np.array([_Payload()], dtype=object),
    )
    with pytest.raises(ValueError, match=r"truncated or corrupted .*allow_pickle=False"):
        load(tmp_path / "evil.npz", like=jnp.zeros(1))
    assert _RAN == []


def test_like_mismatches_name_the_key(tmp_path):
    path = tmp_path / "ckpt.npz"
    opt, model = _trained()
    save(path, opt, model)
    fresh = flr.optim.Adam(0.01)

    def rejects(like, match):
        with pytest.raises(ValueError, match=match):
            load(path, like=like)

    rejects(
        (flr.optim.SGD(0.1), model),
        r"optimizer '0/' of the checkpoint: cannot load the state of Adam into SGD",
    )
    rejects(
        (fresh, {k: v for k, v in model.items() if k != "scale"}),
        r"entries that like does not: \['1/scale'\]",
    )
    rejects((fresh, {**model, "extra": jnp.ones(2)}), r"no entry '1/extra'")
    bigger = {**model, "enc": [{**model["enc"][0], "bias": jnp.zeros(5)}]}
    rejects(
        (fresh, bigger), r"'1/enc.0.bias': the checkpoint has shape \(4,\).*like has shape \(5,\)"
    )
    half = {**model, "steps": model["steps"].astype(jnp.int16)}
    rejects((fresh, half), r"'1/steps': .*dtype int32, like has shape \(3,\) and dtype int16")
    rejects(
        (fresh, {**model, "scale": 2}),
        r"'1/scale': like has a Python int, the checkpoint has a Python float",
    )
    rejects((fresh,), r"holds 2 trees; pass like=\(...\) with one tree for each")
    other = flr.optim.Adam(0.01)
    other.init({"enc": [{"kernel": jnp.ones((3, 4)), "bias": jnp.ones(7)}]})
    rejects((other, model), r"optimizer '0/' of the checkpoint: '_specs/enc.0.bias'")


class _NotAPyTree:
    def __init__(self):
        self.w = jnp.ones(3)


def test_a_model_that_is_not_a_pytree(tmp_path):
    with pytest.raises(
        TypeError, match=r"cannot save tree 1, a single leaf of type _NotAPyTree.*register"
    ):
        save(tmp_path / "x.npz", flr.optim.Adam(0.01), _NotAPyTree())
    with pytest.raises(TypeError, match=r"cannot save the leaf '0/net' of type _NotAPyTree"):
        save(tmp_path / "x.npz", {"net": _NotAPyTree()})
    assert os.listdir(tmp_path) == []


# -- orbax --------------------------------------------------------------------------


def _continue(opt, model, steps=3):
    for _ in range(steps):
        model = opt(model, _grads(model))
    return model


@pytest.mark.filterwarnings("ignore:Sharding info not provided")
def test_orbax_checkpoints_a_state_dict_and_a_model(tmp_path):
    opt, model = _trained(lambda: from_optax(optax.adam(0.01)))
    arrays = {k: v for k, v in model.items() if k in ("enc", "steps")}
    checkpointer = ocp.PyTreeCheckpointer()
    checkpointer.save(tmp_path / "orbax", {"opt": state_dict(opt), "model": arrays})
    restored = checkpointer.restore(tmp_path / "orbax")
    fresh = from_optax(opt.tx)
    fresh.init(model)
    load_state_dict(fresh, restored["opt"])
    new_model = {**model, **jax.tree.map(jnp.asarray, restored["model"])}
    _assert_same(_continue(fresh, new_model), _continue(opt, model))


def test_orbax_standard_checkpointer_saves_the_optimizer_itself(tmp_path):
    opt, model = _trained()
    arrays = {k: v for k, v in model.items() if k in ("enc", "steps")}
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(tmp_path / "orbax", (opt, arrays))
    checkpointer.wait_until_finished()
    fresh = flr.optim.Adam(0.01)
    fresh.init(model)
    target = jax.tree.map(ocp.utils.to_shape_dtype_struct, (fresh, arrays))
    new_opt, new_arrays = checkpointer.restore(tmp_path / "orbax", target)
    _assert_same(_continue(new_opt, {**model, **new_arrays}), _continue(opt, model))
