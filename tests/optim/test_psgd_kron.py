"""PSGDKron against psgd_jax.kron's numbers; its factors; one compilation; checkpoints, memory."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trees_close

import flarejax as flr

O = flr.optim
R = np.random.default_rng(0)
PARAMS = {
    "k": jnp.asarray(R.normal(size=(4, 3)), jnp.float32),
    "w": jnp.asarray(R.normal(size=(3, 2)), jnp.float32),
    "b": jnp.asarray(R.normal(size=2), jnp.float32),
    "s": jnp.asarray(R.normal(), jnp.float32),
}


def grads_fn(params, i):
    """Gradients of a drifting quadratic: the same inputs the reference ran on."""
    return jax.tree.map(
        lambda x: (x - 0.5) * (1 + 0.1 * np.sin(i + 1)) + 0.05 * np.cos(i * x.size), params
    )


CASES = {
    "defaults": (50, dict(learning_rate=0.01)),
    "triangular_up_to_3": (
        12,
        dict(
            learning_rate=0.01,
            b1=0.8,
            weight_decay=0.1,
            max_size_triangular=3,
            preconditioner_update_probability=0.5,
            preconditioner_lr=0.2,
        ),
    ),
    "one_diag_from_grads": (
        12,
        dict(
            learning_rate=0.02,
            memory_save_mode="one_diag",
            momentum_into_precond_update=False,
            preconditioner_init_scale=0.5,
        ),
    ),
}
# The parameters after the steps above, from github.com/evanatyourservice/psgd_jax
# psgd_jax/kron.py (kron(..., precond_update_precision="float32",
# precond_grads_precision="float32"), optax.apply_updates, jitted, float32, CPU).
# "defaults" runs past step 47, whose preconditioner fit rebalances the factors.
EXPECTED = {
    "defaults": {
        "k": [
            0.11276242,
            0.19911148,
            0.56754857,
            -0.011955301,
            0.097871333,
            0.47617671,
            1.0155032,
            0.9293468,
            0.033277474,
            -0.65195942,
            -0.4669331,
            0.33999637,
        ],
        "w": [-1.7363752, -0.35735223, -1.0196419, -0.25247547, -0.45280701, 0.054564402],
        "b": [0.50784922, 0.7562409],
        "s": [0.16868605],
    },
    "triangular_up_to_3": {
        "k": [
            0.1775502,
            0.0066553382,
            0.60430521,
            0.13353476,
            -0.37733439,
            0.37533629,
            1.2006373,
            0.88522083,
            -0.54502708,
            -1.0942651,
            -0.50900549,
            0.086650655,
        ],
        "w": [-2.1095195, -0.20131412, -1.1188954, -0.60530692, -0.47246474, -0.21889248],
        "b": [0.42206803, 0.9527179],
        "s": [-0.048877724],
    },
    "one_diag_from_grads": {
        "k": [
            0.20103632,
            0.025314277,
            0.60955179,
            0.15903282,
            -0.3467111,
            0.37983748,
            1.1635027,
            0.86111206,
            -0.50600326,
            -1.0182405,
            -0.44656923,
            0.097922899,
        ],
        "w": [-2.038873, -0.1562569, -1.0492302, -0.58710241, -0.39006591, -0.18663394],
        "b": [0.42339239, 0.97707105],
        "s": [-0.042842962],
    },
}


def run(steps, kw, jit=True):
    opt = O.PSGDKron(**kw)
    opt.init(PARAMS)
    step = jax.jit(lambda o, p, g: (o, o(p, g))) if jit else (lambda o, p, g: (o, o(p, g)))
    params = PARAMS
    for i in range(steps):
        opt, params = step(opt, params, grads_fn(params, i))
    return params, opt


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_psgd_jax_kron(case):
    steps, kw = CASES[case]
    actual, _ = run(steps, kw)
    expected = {k: np.reshape(v, PARAMS[k].shape) for k, v in EXPECTED[case].items()}
    assert_trees_close(actual, expected, rtol=1e-5, atol=1e-6)


def test_factors_triangular_diagonal_and_scalar():
    opt = O.PSGDKron(0.01, max_size_triangular=3, preconditioner_init_scale=4.0)
    opt.init(PARAMS)
    shapes = {k: [q.shape for q in v] for k, v in opt.Q.items()}
    # 4 > max_size_triangular: diagonal; vectors: diagonal (min_ndim_triangular=2).
    assert shapes == {"k": [(4,), (3, 3)], "w": [(3, 3), (2, 2)], "b": [(2,)], "s": [()]}
    np.testing.assert_allclose(opt.Q["w"][0], 2.0 * np.eye(3))  # 4 ** (1 / 2) per factor
    np.testing.assert_allclose(opt.Q["s"][0], 4.0)
    all_diag = O.PSGDKron(0.01, memory_save_mode="all_diag")
    all_diag.init(PARAMS)
    assert {q.ndim for v in all_diag.Q.values() for q in v} <= {0, 1}


def test_fits_on_a_deterministic_schedule():
    from flarejax._core.eager import _run

    opt = O.PSGDKron(0.01, preconditioner_update_probability=1 / 3)
    opt.init(PARAMS)
    params, fitted = PARAMS, []
    before_steps = _run._cache_size()
    for i in range(6):
        before = opt.Q["w"][0]
        params = opt(params, grads_fn(params, i))
        fitted.append(not np.array_equal(before, opt.Q["w"][0]))
    assert fitted == [False, False, True, False, False, True]
    # One device: init leaves the factors as built, and the eager steps compile once.
    assert _run._cache_size() - before_steps == 1


def test_compiles_once_after_init_and_round_trips_its_state():
    traces = 0

    @jax.jit
    def step(opt, model, grads):
        nonlocal traces
        traces += 1
        return opt, opt(model, grads)

    opt = O.PSGDKron(0.01, weight_decay=0.1)
    opt.init(PARAMS)
    model = PARAMS
    for i in range(4):
        opt, model = step(opt, model, grads_fn(model, i))
    assert traces == 1
    restored = O.PSGDKron(0.01, weight_decay=0.1)
    restored.init(model)
    restored.load_state_dict(opt.state_dict())
    grads = grads_fn(model, 4)
    assert_trees_close(restored(model, grads), opt(model, grads), rtol=0, atol=0)
    # Momentum (21 floats), factors 4x4 + 3x3, 3x3 + 2x2, 2 and 1, two int32 counters.
    assert O.state_bytes(opt) == (21 + 16 + 9 + 9 + 4 + 2 + 1) * 4 + 2 * 4
    assert "Q" in opt.summary(PARAMS)


def test_rejects_complex_parameters():
    model = {"w": jnp.ones((2, 2), jnp.complex64)}
    with pytest.raises(TypeError, match="PSGDKron does not support complex parameters"):
        O.PSGDKron(0.01)(model, model)
