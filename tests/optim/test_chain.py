import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import check_parity, f32, models, quadratic_grads

import flarejax as flr
from flarejax.optim import (
    EMA,
    SGD,
    Adam,
    AddNoise,
    Chain,
    ClipByGlobalNorm,
    Freeze,
    Lookahead,
    MultiSteps,
    Partition,
    Scale,
    SkipNonFinite,
)


def test_no_update_skips_later_members():
    params = models()["flat"]
    opt = Chain(Freeze("b"), Adam(0.1))
    new = opt(params, quadratic_grads(params, 0))
    np.testing.assert_array_equal(new["b"], params["b"])
    assert not np.allclose(new["w"], params["w"])
    assert set(opt.opts[1].m) == {"w"}  # Adam built no state for the frozen key


def test_state_lives_in_members_and_jit_roundtrip():
    params = models()["flat"]
    opt = Chain(Scale(1.0), Adam(0.1))
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    for i in range(3):
        opt, params = step(opt, params, quadratic_grads(params, i))
    assert int(opt.opts[1].t) == 3


def test_member_overriding_call_runs_through_it():
    optax_interop = pytest.importorskip("flarejax.optim._interop._optax")
    check_parity(
        lambda: Chain(ClipByGlobalNorm(1.0), optax_interop.from_optax(f32(optax.adam, 0.01))),
        optax.chain(optax.clip_by_global_norm(1.0), f32(optax.adam, 0.01)),
        model_names=("flat",),
        modes=("eager", "init"),
    )


def test_hyperparameters_are_prefixed():
    hp = Chain(ClipByGlobalNorm(2.0), Adam(0.1)).hyperparameters()
    assert float(hp["0.max_norm"]) == 2.0
    assert float(hp["1.learning_rate"]) == pytest.approx(0.1)


def test_empty_chain_is_plain_gradient_descent_by_one():
    params = models()["flat"]
    g = quadratic_grads(params, 0)
    new = Chain()(params, g)
    np.testing.assert_allclose(new["w"], params["w"] - g["w"])


def test_members_must_be_optimizers():
    with pytest.raises(ValueError, match=r"opts\[1\] must be an Optimizer, got function"):
        Chain(Adam(0.1), optax.adam)
    assert isinstance(Chain(SGD(0.1)), flr.optim.Optimizer)
    assert jnp.ndim(Chain(Adam(0.1)).opts[0].t) == 0


def test_deep_composition_round_trips_through_state_dict():
    sd = pytest.importorskip("flarejax.optim._interop._state_dict")

    def make():
        return Chain(
            AddNoise(0.1, 0.5, 1),
            SkipNonFinite(MultiSteps(Partition({"w": Adam(0.1)}, default=SGD(0.1, 0.9)), 2)),
            EMA(Lookahead(SGD(0.1), 2, 0.5), 0.9),
        )

    params = models()["flat"]
    opt = make()
    for i in range(3):
        params = opt(params, quadratic_grads(params, i))
    restored = make()
    sd.load_state_dict(restored, sd.state_dict(opt))
    g = quadratic_grads(params, 3)
    for a, b in zip(jax.tree.leaves(opt(params, g)), jax.tree.leaves(restored(params, g))):
        np.testing.assert_array_equal(a, b)
