import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

rng = np.random.default_rng(0)


def new_model():
    return {
        "attn": jnp.asarray(rng.normal(size=(6, 2, 3)), jnp.float32),
        "w": jnp.asarray(rng.normal(size=(5, 3)), jnp.float32),
        "b": jnp.asarray(rng.normal(size=3), jnp.float32),
    }


MODEL = new_model()
TARGET = jax.tree.map(lambda x: jnp.sin(3 * x), MODEL)


def loss(model):
    return sum(
        jnp.sum(
            (model[k] - TARGET[k]) ** 2
            * (1 + jnp.arange(model[k].size).reshape(model[k].shape) / 10)
        )
        for k in model
    )


def run(opt, tx, steps=12):
    model = ref = MODEL
    state = tx.init(ref)
    for _ in range(steps):
        model = opt(model, jax.grad(loss)(model))
        updates, state = jax.jit(tx.update)(jax.grad(loss)(ref), state, ref)
        ref = optax.apply_updates(ref, updates)
    return model, ref


def test_base_optimizer_and_dimension_numbers_match_optax():
    """SGD's momentum update is optax.trace; the 3-D attention weight is a (6, 6) matrix."""
    dims = {
        "attn": optax.contrib.GaLoreDimensionNumbers(reduction_axis=0, output_axis=(1, 2)),
        "w": optax.contrib.GaLoreDimensionNumbers(),
        "b": None,
    }
    opt = flr.optim.GaLore(
        0.05,
        rank=2,
        update_proj_gap=4,
        base_optimizer=flr.optim.SGD(1.0, momentum=0.9),
        weight_dimension_numbers=dims.get,
    )
    tx = optax.contrib.galore(
        0.05,
        rank=2,
        update_proj_gap=4,
        base_optimizer=optax.trace(0.9),
        weight_dimension_numbers=dims,
    )
    model, ref = run(opt, tx)
    for key in ref:
        np.testing.assert_allclose(model[key], ref[key], rtol=1e-4, atol=1e-5)
    # The base optimizer's state has the projected shapes: the memory GaLore saves.
    assert opt.base_optimizer.trace["attn"].shape == (2, 6)
    assert opt.base_optimizer.trace["w"].shape == (2, 3)
    assert opt.projector["attn"].shape == (6, 2)


def test_dimension_numbers_by_key():
    """A function of the key: only 'w' is projected (its right side: 5 x 3 is tall)."""
    opt = flr.optim.GaLore(
        0.05, rank=1, weight_dimension_numbers=lambda k: (0, 1) if k == "w" else None
    )
    opt(MODEL, jax.grad(loss)(MODEL))
    assert sorted(opt.projector) == ["w"]
    assert opt.base_optimizer.m["attn"].shape == (6, 2, 3)
    assert opt.base_optimizer.m["w"].shape == (1, 3)


def test_bad_dimension_numbers_name_the_parameter():
    opt = flr.optim.GaLore(0.05, weight_dimension_numbers=(0, 1))
    with pytest.raises(ValueError, match=r"'attn' \(shape \(6, 2, 3\)\) must split its axes"):
        opt(MODEL, jax.grad(loss)(MODEL))
    with pytest.raises(ValueError, match="rank must be an int >= 1, got 0"):
        flr.optim.GaLore(0.05, rank=0)
