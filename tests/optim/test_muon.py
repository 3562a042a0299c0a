import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, run_flarejax, run_optax

import flarejax as flr


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


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ns_coeffs": (1.0, 2.0)}, "ns_coeffs must have shape \\(3,\\) or \\(n, 3\\)"),
        ({"ns_coeffs": "dion", "ns_steps": 4}, "ns_coeffs has 5 rows, more than ns_steps=4"),
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
