import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, run_flarejax, run_optax

import flarejax as flr

# Plain optax folds 1 - 0.999 (Adam fallback) in float64; f32 is the like-for-like reference.


def test_muon_matches_optax():
    # A tall matrix (orthogonalised transposed) and a vector (Adam fallback);
    # wide, batched (3-D) and scalar parameters are in the tests below.
    check_parity(
        lambda: flr.optim.Muon(0.01),
        f32(optax.contrib.muon, 0.01),
        steps=50,
        model_names=("flat",),
    )


_LR = optax.linear_schedule(0.02, 0.001, 30)
_WD = optax.linear_schedule(0.0, 0.1, 30)


@pytest.mark.parametrize(
    ("lr", "kwargs"),
    [
        (
            _LR,
            {"nesterov": False, "preconditioning": "aol", "ns_coeffs": "dion", "weight_decay": _WD},
        ),
        (
            0.01,
            {
                "preconditioning": "schatten",
                "consistent_rms": 0.2,
                "weight_decay": 0.1,
                "adam_weight_decay": 0.05,
                "adam_learning_rate": 0.003,
                "beta": 0.9,
                "adam_b1": 0.8,
                "adam_b2": 0.99,
                "adam_eps_root": 1e-8,
            },
        ),
    ],
)
def test_muon_options_match_optax(lr, kwargs):
    check_parity(
        lambda: flr.optim.Muon(lr, **kwargs),
        f32(optax.contrib.muon, lr, **kwargs),
        steps=50,
        modes=("jit",),
        model_names=("flat",),
    )


def _params():
    r = np.random.default_rng(1)
    return {
        "b": jnp.asarray(r.normal(size=4), jnp.float32),
        "s": jnp.asarray(r.normal(), jnp.float32),
        "w": jnp.asarray(r.normal(size=(4, 6)), jnp.float32),
        "w3": jnp.asarray(r.normal(size=(2, 4, 3)), jnp.float32),
    }


def test_muon_dimension_numbers_decay_mask_and_mu_dtype_match_optax():
    # Plain optax: its Python-float b1 keeps b1 * mu in bfloat16 (mu_dtype) as
    # flarejax's weakly-typed b1 does, where inject_hyperparams's strong float32
    # b1 would promote the product; its float64 folding of 1 - 0.999 costs 2e-5.
    dn = optax.contrib.MuonDimensionNumbers
    dims = {"w": dn(), "w3": dn(reduction_axis=(1,), output_axis=-1), "b": None, "s": None}
    # The adaptive scale <m_hat, O> makes large steps: with lr 0.01, one-ulp
    # differences at step 1 (XLA fuses differently) grow to 3e-5 in 50 steps.
    kw = {"preconditioning": "spectral", "ns_steps": 3, "eps": 1e-6, "adaptive": True}
    tx = optax.contrib.muon(
        0.002,
        **kw,
        weight_decay=0.1,
        weight_decay_mask=lambda p: jax.tree.map(lambda x: x.ndim == 3, p),
        mu_dtype=jnp.bfloat16,
        muon_weight_dimension_numbers=dims,
    )
    expected = run_optax(tx, _params(), 30)
    actual, opt = run_flarejax(
        lambda: flr.optim.Muon(
            0.002,
            **kw,
            weight_decay=0.1,
            weight_decay_mask=lambda key, p: p.ndim == 3,
            mu_dtype=jnp.bfloat16,
            muon_weight_dimension_numbers=lambda key, p: dims[key],
        ),
        _params(),
        30,
        "init",
    )
    assert_trees_close(actual, expected, rtol=1e-4)
    assert sorted(opt.nu) == ["b", "s"] and opt.nu["b"].dtype == jnp.float32
    assert all(m.dtype == jnp.bfloat16 for m in opt.mu.values())


def test_muon_bfloat16_keeps_dtype():
    check_parity(
        lambda: flr.optim.Muon(0.01),
        optax.contrib.muon(0.01),
        steps=20,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        modes=("jit",),
        model_names=("flat",),
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0.1"),
        ({"beta": 1.0}, r"beta must be in \[0, 1\), got 1.0"),
        ({"eps": -1e-8}, r"eps must be >= 0"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0"),
        ({"adam_b1": 1.5}, r"adam_b1 must be in \[0, 1\), got 1.5"),
        ({"adam_b2": -0.1}, r"adam_b2 must be in \[0, 1\)"),
        ({"adam_eps_root": -1.0}, r"adam_eps_root must be >= 0"),
        ({"adam_weight_decay": -1.0}, r"adam_weight_decay must be >= 0"),
        ({"adam_learning_rate": -1.0}, r"adam_learning_rate must be >= 0"),
        ({"consistent_rms": -0.2}, r"consistent_rms must be >= 0"),
        ({"ns_steps": 0}, r"ns_steps must be an integer >= 1, got 0"),
        ({"ns_coeffs": (1.0, 2.0)}, r"ns_coeffs must have shape \(3,\) or \(n, 3\)"),
        ({"ns_coeffs": "cubic"}, r"ns_coeffs must be one of"),
        ({"ns_coeffs": "dion", "ns_steps": 4}, r"ns_coeffs has 5 rows, more than ns_steps=4"),
        ({"preconditioning": "svd"}, r"preconditioning must be one of"),
    ],
)
def test_muon_invalid_hyperparameters(kwargs, match):
    kwargs = {"learning_rate": 0.01, **kwargs}
    with pytest.raises(ValueError, match=match):
        flr.optim.Muon(**kwargs)


def test_muon_dimension_numbers_for_a_vector_is_an_error():
    opt = flr.optim.Muon(0.01, muon_weight_dimension_numbers=lambda key, p: (0, 1))
    with pytest.raises(ValueError, match=r"rank >= 2.*'b'"):
        opt({"b": jnp.ones(3)}, {"b": jnp.ones(3)})
