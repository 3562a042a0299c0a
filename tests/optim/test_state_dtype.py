"""``state_dtype``: bfloat16 parameters with float32 state and float32 arithmetic.

In bfloat16, ``0.999`` rounds to ``1.0``: an Adam second moment kept in
bfloat16 never decays (optax and torch behave the same). With
``state_dtype=jnp.float32`` the state and the step are float32 and only the
update is rounded to bfloat16, so the run is optax's float32 run on the float32
upcast of the same bfloat16 inputs, to bfloat16 rounding.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr
from flarejax._core.step import steps_through_call
from flarejax.testing._registry import registry

O = flr.optim
BF16, F32 = jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float32)
# Half a unit in the last place of bfloat16 (8 significant bits), relative;
# twice that allows one rounding of each side.
BF16_RTOL = 2.0**-8


def _grads(n: int, shape: tuple[int, ...], seed: int = 0) -> list[jax.Array]:
    r = np.random.default_rng(seed)
    scales = np.geomspace(1.0, 1e-2, n)  # shrinking gradients: the second moment must decay
    return [jnp.asarray(r.normal(size=shape) * s, jnp.bfloat16) for s in scales]


def test_adam_state_dtype_float32_is_optax_adam_in_float32():
    """State equal to optax.adam's float32 state, updates equal to its updates rounded."""
    lr, shape = 1e-2, (64,)
    p0 = jnp.asarray(np.random.default_rng(1).normal(size=shape), jnp.bfloat16)
    opt = O.Adam(lr, state_dtype=jnp.float32)
    # Hyperparameters held as float32 arrays, as flarejax holds them (1 - 0.999 in float32).
    tx = optax.inject_hyperparams(optax.adam)(lr)
    state = tx.init({"w": p0.astype(jnp.float32)})
    update = jax.jit(tx.update)
    p = p0
    for g in _grads(30, shape):
        u = opt.updates({"w": g}, {"w": p}, {})["w"]
        ref, state = update({"w": g.astype(jnp.float32)}, state, {"w": p.astype(jnp.float32)})
        assert u.dtype == BF16
        # Same float32 inputs and arithmetic: the state agrees to float32 rounding (atol:
        # jit may fuse m = b1 m + (1 - b1) g differently where it cancels).
        adam = state.inner_state[0]
        np.testing.assert_allclose(opt.m["w"], adam.mu["w"], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(opt.v["w"], adam.nu["w"], rtol=1e-6, atol=1e-10)
        # optax's updates are negated (added); flarejax's are subtracted.
        np.testing.assert_allclose(u.astype(jnp.float32), -ref["w"], rtol=BF16_RTOL, atol=lr * 1e-6)
        p = (p - u).astype(jnp.bfloat16)
    assert opt.m["w"].dtype == opt.v["w"].dtype == F32


def test_second_moment_decays_only_in_float32_state():
    """20 zero gradients scale v by 0.999**20; in bfloat16 state, 0.999 is 1 and v stays."""
    params, ones, zeros = ({"w": jnp.full((8,), x, jnp.bfloat16)} for x in (1.0, 1.0, 0.0))
    wide, narrow = O.Adam(1e-3, state_dtype=jnp.float32), O.Adam(1e-3)
    for opt in (wide, narrow):
        opt(params, ones)
    v_wide, v_narrow = wide.v["w"], narrow.v["w"]
    for _ in range(20):
        for opt in (wide, narrow):
            opt(params, zeros)
    np.testing.assert_allclose(wide.v["w"], v_wide * 0.999**20, rtol=1e-5)
    assert narrow.v["w"].dtype == BF16
    np.testing.assert_array_equal(narrow.v["w"], v_narrow)  # the flaw state_dtype fixes


# Arguments giving a momentum to the classes whose catalogue example has none
# (and an emitted sum within the test's two steps to ApplyEvery, and cheaper steps).
_WITH_STATE = {
    "SGD": {"momentum": 0.9},
    "RMSProp": {"momentum": 0.9},
    "DPSGD": {"momentum": 0.9},
    "ApplyEvery": {"k": 2},
    # Diagonal factors: eager triangular fits cost seconds (the factors are precond_dtype's).
    "PSGDKron": {"memory_save_mode": "all_diag"},
}
# The extras a step needs: the loss, or the loss as a function of the flat parameters.
_EXTRAS = {
    "MoMo": {"loss": 1.5},
    "MoMoAdam": {"loss": 1.5},
    "Sophia": {"value_fn": lambda p: sum(jnp.sum(x**4) for x in p.values())},
}
# Per-example gradients: a leading batch axis of two.
_PER_EXAMPLE = {"DPSGD"}
WITH_STATE_DTYPE = sorted(
    name
    for name in O.__all__
    if inspect.isclass(cls := getattr(O, name))
    and "state_dtype" in inspect.signature(cls).parameters
)


def test_every_builtin_with_moments_takes_state_dtype():
    expected = {
        "Adam", "AdamW", "AMSGrad", "NAdam", "NAdamW", "RAdam", "Adamax", "AdamaxW",
        "Yogi", "AdaBelief", "Adan", "NovoGrad", "ADOPT", "LAMB", "SGD", "RMSProp",
        "Adagrad", "Adafactor", "Lion", "Signum", "LARS", "AdEMAMix", "MADGRAD",
        "Prodigy", "SM3", "Adadelta", "Muon", "Rprop", "OptimisticGD", "ScheduleFreeAdamW",
        "ACProp", "SimplifiedAdEMAMix", "OptimisticAdam", "MARS", "DAdaptAdamW", "COCOB",
        "DoG", "DoWG", "ASGD", "PSGDKron", "ApplyEvery", "MoMo", "MoMoAdam", "Sophia",
        "DPSGD", "GaLore", "Mechanic",
        # Wrappers: their own copy of the parameters only.
        "EMA", "Lookahead", "AveragedModel", "IncrementalUpdate",
    }  # fmt: skip
    assert expected <= set(WITH_STATE_DTYPE)


@pytest.mark.parametrize("name", WITH_STATE_DTYPE)
def test_state_dtype_float32_on_bfloat16(name):
    """All floating state float32, updates bfloat16 and the float32 run's, rounded."""
    entry = registry()[name]
    kw = _WITH_STATE.get(name, {})
    mixed = entry.build_example(state_dtype=jnp.float32, **kw)
    wide = entry.build_example(**kw)
    r = np.random.default_rng(2)
    params = {
        "k": jnp.asarray(r.normal(size=(4, 3)), jnp.bfloat16),
        "b": jnp.asarray(r.normal(size=(3,)), jnp.bfloat16),
    }
    extras = _EXTRAS.get(name, {})
    batch = (2,) if name in _PER_EXAMPLE else ()
    _compare_steps(mixed, wide, params, extras, batch, r)
    floating = [
        x
        for x in jax.tree.leaves(mixed)
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)
    ]
    assert {x.dtype for x in floating if x.ndim > 0} == {F32}
    assert BF16 not in {x.dtype for x in floating}


def _compare_steps(mixed, wide, params, extras, batch, r):
    """Two steps of ``mixed`` on bfloat16 values, of ``wide`` on their float32 upcasts."""
    for step in range(2):
        grads = {
            k: jnp.asarray(r.normal(size=batch + p.shape), jnp.bfloat16) for k, p in params.items()
        }
        up = mixed.updates(grads, params, dict(extras))
        ref = wide.updates(
            {k: g.astype(jnp.float32) for k, g in grads.items()},
            {k: p.astype(jnp.float32) for k, p in params.items()},
            dict(extras),
        )
        for k in params:
            assert up[k].dtype == BF16, (k, step)
            if steps_through_call(mixed):
                # Its update is the step taken, p - round(p - u): compare the new
                # parameters, to one unit in the last place (two roundings).
                np.testing.assert_allclose(
                    (params[k] - up[k]).astype(jnp.float32),
                    (params[k].astype(jnp.float32) - ref[k]).astype(BF16).astype(jnp.float32),
                    rtol=2 * BF16_RTOL,
                    err_msg=k,
                )
                continue
            np.testing.assert_allclose(
                up[k].astype(jnp.float32), ref[k], rtol=BF16_RTOL, atol=1e-6, err_msg=k
            )
        params = {k: (params[k] - up[k]).astype(jnp.bfloat16) for k in params}


def test_mu_dtype_takes_precedence_for_the_first_moment():
    opt = O.Adam(1e-3, mu_dtype=jnp.bfloat16, state_dtype=jnp.float32)
    opt.updates({"w": jnp.ones(3, jnp.bfloat16)}, {"w": jnp.ones(3, jnp.bfloat16)}, {})
    assert (opt.m["w"].dtype, opt.v["w"].dtype) == (BF16, F32)


def test_state_dtype_keeps_complex_parameters_complex():
    opt = O.Adam(1e-3, state_dtype=jnp.float32)
    g = jnp.full((3,), 1 + 1j, jnp.complex64)
    u = opt.updates({"w": g}, {"w": g}, {})["w"]
    assert (u.dtype, opt.m["w"].dtype, opt.v["w"].dtype) == (g.dtype, g.dtype, F32)


def test_state_dtype_is_validated():
    with pytest.raises(ValueError, match="state_dtype must be a floating dtype"):
        O.Adam(1e-3, state_dtype=jnp.int32)


def test_state_dtype_under_jit_and_init():
    """A jitted step on bfloat16 parameters compiles once, with the state init built."""
    model = {"w": jnp.ones((4,), jnp.bfloat16)}
    opt = O.Lion(1e-3, state_dtype=jnp.float32)
    opt.init(model)
    assert opt.m["w"].dtype == F32
    step = jax.jit(lambda o, m, g: (o, o(m, g)))
    g = {"w": jnp.full((4,), 0.5, jnp.bfloat16)}
    for _ in range(3):
        opt, model = step(opt, model, g)
    assert model["w"].dtype == BF16 and opt.m["w"].dtype == F32
    assert step._cache_size() == 1


@pytest.mark.parametrize("name", ["AveragedModel", "DAdaptAdamW", "IncrementalUpdate", "COCOB"])
def test_init_builds_the_float32_state_a_jitted_step_keeps(name):
    """Global state, a wrapper's copy, per-parameter state: built by init, one compilation."""
    model = {"k": jnp.ones((4, 3), jnp.bfloat16), "b": jnp.ones((3,), jnp.bfloat16)}
    opt = registry()[name].build_example(state_dtype=jnp.float32)
    opt.init(model)
    before = [x.dtype for x in jax.tree.leaves(opt)]
    step = jax.jit(lambda o, m, g: (o, o(m, g)))
    g = jax.tree.map(lambda x: jnp.full_like(x, 0.5), model)
    for _ in range(2):
        opt, model = step(opt, model, g)
    assert [x.dtype for x in jax.tree.leaves(opt)] == before
    assert {x.dtype for x in jax.tree.leaves(opt) if getattr(x, "ndim", 0) > 0} == {F32}
    assert model["k"].dtype == BF16 and step._cache_size() == 1


CONFORMANCE = {
    "Adam": (O.Adam, optax.adam),
    "ScheduleFreeAdamW": (O.ScheduleFreeAdamW, optax.contrib.schedule_free_adamw),
}


@pytest.mark.parametrize("name", sorted(CONFORMANCE))
def test_state_dtype_passes_the_conformance_kit(name):
    """Every property (bfloat16 copies, to_optax on bfloat16 included), against optax.

    On the kit's float32 models, float32 state is the plain optimizer: optax's numbers.
    """
    from flarejax.testing import check_optimizer

    cls, tx = CONFORMANCE[name]
    report = check_optimizer(
        lambda: cls(0.05, state_dtype=jnp.float32),
        reference=optax.inject_hyperparams(tx)(0.05),
        steps=20,
    )
    assert report["reference"] == "passed"


def _ema_run(state_dtype, steps=300, wrap=lambda opt, **kw: O.EMA(opt, 0.999, **kw)):
    """A wrapper of SGD (EMA by default) on bfloat16 parameters, stepped under jit.

    The optimizer, the model and the parameters after each step (float64).
    """
    model = {"w": jnp.linspace(1.0, 2.0, 8).astype(jnp.bfloat16)}
    grads = {"w": jnp.full((8,), -1.0, jnp.bfloat16)}
    opt = wrap(O.SGD(1e-2), state_dtype=state_dtype)
    opt.init(model)

    def step(carry, _):
        o, m = carry
        m = o(m, grads)
        return (o, m), m["w"]

    (opt, model), seq = jax.jit(lambda o, m: jax.lax.scan(step, (o, m), length=steps))(opt, model)
    return opt, model, np.asarray(seq.astype(jnp.float32), np.float64)


def test_ema_average_moves_with_float32_state():
    """The average of the bfloat16 parameters, as float64 NumPy computes it."""
    opt, model, seq = _ema_run(jnp.float32)
    ref = np.zeros(seq.shape[1])
    for p in seq:
        ref = 0.999 * ref + 0.001 * p
    ref /= 1 - 0.999 ** len(seq)
    averaged = opt.ema_params(model)["w"]
    assert opt.ema["w"].dtype == F32 and averaged.dtype == BF16
    # To bfloat16 precision: under jit, XLA may average p - u before its rounding
    # to bfloat16 (excess precision), at most one unit in the last place away.
    np.testing.assert_allclose(opt.ema["w"] / (1 - 0.999 ** len(seq)), ref, rtol=BF16_RTOL)
    np.testing.assert_allclose(averaged.astype(jnp.float32), ref, rtol=2 * BF16_RTOL)
    # In bfloat16, 0.999 is 1: the average stalls far from the parameters' average.
    narrow, model, _ = _ema_run(None)
    stalled = narrow.ema_params(model)["w"].astype(jnp.float32)
    assert np.max(np.abs(stalled - ref) / ref) > 0.05


def _swa_reference(p0, seq):
    return seq.mean(axis=0)


def _incremental_reference(p0, seq, tau=1e-3):
    # optax.incremental_update after each step, from the parameters before the first.
    target = p0
    for p in seq:
        target = tau * p + (1 - tau) * target
    return target


COPIES = {
    # name: (wrapper of the inner optimizer, the copy of the model, float64 reference)
    "AveragedModel": (
        lambda opt, **kw: O.AveragedModel(opt, **kw),
        lambda opt, model: opt.averaged_params(model),
        _swa_reference,
    ),
    "IncrementalUpdate": (
        lambda opt, **kw: O.IncrementalUpdate(opt, 1e-3, **kw),
        lambda opt, model: opt.target_params(model),
        _incremental_reference,
    ),
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_of_the_parameters_move_with_float32_state(name):
    """The wrapper's copy of bfloat16 parameters, as float64 NumPy computes it from them."""
    wrap, copy, reference = COPIES[name]
    opt, model, seq = _ema_run(jnp.float32, wrap=wrap)
    p0 = np.linspace(1.0, 2.0, 8, dtype=np.float32).astype(jnp.bfloat16).astype(np.float64)
    ref = reference(p0, seq)
    copied = copy(opt, model)["w"]
    assert copied.dtype == BF16
    # The copy is the only array state (SGD without momentum keeps none).
    assert {x.dtype for x in jax.tree.leaves(opt) if getattr(x, "ndim", 0) > 0} == {F32}
    # As for EMA: one unit in the last place of bfloat16 (XLA's excess precision),
    # then the rounding of the copy to bfloat16.
    np.testing.assert_allclose(copied.astype(jnp.float32), ref, rtol=2 * BF16_RTOL)
    # In bfloat16 the small steps towards the parameters round away: the copy stalls.
    narrow, model, seq = _ema_run(None, wrap=wrap)
    stalled = copy(narrow, model)["w"].astype(jnp.float32)
    assert np.max(np.abs(stalled - reference(p0, seq)) / reference(p0, seq)) > 0.05


@pytest.mark.parametrize("state_dtype", [jnp.float32, None])
def test_lookahead_slow_weights_keep_small_steps(state_dtype):
    """Fast steps of 1e-4 from 1: float32 slow weights converge to 1 - 1e-4, bfloat16 stay at 1.

    (The model is back at 1 after every sync, so each fast phase ends at 1 - 1e-4:
    the slow weights halve their distance to it at every sync.)
    """
    model = {"w": jnp.ones((4,), jnp.bfloat16)}
    grads = {"w": jnp.ones((4,), jnp.bfloat16)}
    opt = O.Lookahead(O.SGD(1e-4), 2, 0.5, state_dtype=state_dtype)
    for _ in range(40):
        model = opt(model, grads)
    slow = opt.slow_params(model)["w"]
    assert model["w"].dtype == slow.dtype == BF16
    if state_dtype is None:
        np.testing.assert_array_equal(opt.slow["w"], 1.0)
    else:
        assert opt.slow["w"].dtype == F32
        expected = 1 - float(jnp.bfloat16(1e-4)) * (1 - 0.5**20)
        np.testing.assert_allclose(opt.slow["w"], expected, rtol=1e-6)
