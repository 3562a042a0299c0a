"""Complex parameters: the adaptive optimizers agree with optax on complex64 and complex128.

The second moments and norms use :math:`|g|^2 = g \\bar g` (real), as optax does;
a plain ``g**2`` would turn the step's phase (Adam stepped about ``-lr`` along
the real axis). The conformance table's complex column
(tests/testing/test_check_optimizer.py) runs every built-in on a complex model
in complex64; this file adds complex128 under x64 and the issue's example.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

O = flr.optim

# name -> (flarejax optimizer, its optax twin), both built at the run's dtype.
SUPPORTED = {
    "SGD": (lambda: O.SGD(0.1, momentum=0.9), lambda: optax.sgd(0.1, momentum=0.9)),
    "Adam": (lambda: O.Adam(0.1), lambda: optax.adam(0.1)),
    "AdamW": (lambda: O.AdamW(0.1), lambda: optax.adamw(0.1)),
    "NAdam": (lambda: O.NAdam(0.1), lambda: optax.nadam(0.1)),
    "RAdam": (lambda: O.RAdam(0.1), lambda: optax.radam(0.1)),
    "AMSGrad": (lambda: O.AMSGrad(0.1), lambda: optax.amsgrad(0.1)),
    "RMSProp": (
        lambda: O.RMSProp(0.1, centered=True, momentum=0.5),
        lambda: optax.rmsprop(0.1, centered=True, momentum=0.5),
    ),
    "Adagrad": (lambda: O.Adagrad(0.1), lambda: optax.adagrad(0.1)),
    "Yogi": (lambda: O.Yogi(0.1), lambda: optax.yogi(0.1)),
    "AdaBelief": (lambda: O.AdaBelief(0.1), lambda: optax.adabelief(0.1)),
    "Adan": (lambda: O.Adan(0.1), lambda: optax.adan(0.1)),
    "AdEMAMix": (lambda: O.AdEMAMix(0.1), lambda: optax.contrib.ademamix(0.1)),
    "Adafactor": (
        lambda: O.Adafactor(0.1, min_dim_size_to_factor=2),
        lambda: optax.adafactor(0.1, min_dim_size_to_factor=2),
    ),
    "Adamax": (lambda: O.Adamax(0.1), lambda: optax.adamax(0.1)),
    "LAMB": (lambda: O.LAMB(0.1), lambda: optax.lamb(0.1)),
    "LARS": (lambda: O.LARS(0.1), lambda: optax.lars(0.1)),
    "Lion": (lambda: O.Lion(0.1), lambda: optax.lion(0.1)),
    "NovoGrad": (lambda: O.NovoGrad(0.1), lambda: optax.novograd(0.1)),
    "Fromage": (lambda: O.Fromage(0.1), lambda: optax.fromage(0.1)),
    "Muon": (lambda: O.Muon(0.1), lambda: optax.contrib.muon(0.1)),
    "ScheduleFreeAdamW": (
        lambda: O.ScheduleFreeAdamW(0.1),
        lambda: optax.contrib.schedule_free_adamw(0.1),
    ),
}

# The issue's example: three steps of the gradient [1+2j, -3+1j] from [0.3+0.7j, -1+2j]
# (the matrix is there for Muon and the factored Adafactor).
V0 = [0.3 + 0.7j, -1 + 2j]
GV = [1 + 2j, -3 + 1j]
W0 = np.reshape(np.arange(6) * (0.5 - 0.25j) - 1 + 0.5j, (2, 3))


def _run(dtype, step, n=3):
    params = {"v": jnp.asarray(V0, dtype), "w": jnp.asarray(W0, dtype)}
    for i in range(n):
        grads = {"v": jnp.asarray(GV, dtype) * (1 + 0.5 * i), "w": params["w"] * (1 - 0.5j)}
        params = step(params, grads)
    return params


def _optax(tx, dtype):
    state = None

    def step(params, grads):
        nonlocal state
        state = tx.init(params) if state is None else state
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates)

    return _run(dtype, step)


def _flarejax(opt, dtype, jit):
    call = jax.jit(lambda o, p, g: (o, o(p, g))) if jit else (lambda o, p, g: (o, o(p, g)))

    def step(params, grads):
        nonlocal opt
        opt, params = call(opt, params, grads)
        return params

    return _run(dtype, step)


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_complex128_matches_optax_eager_and_jit(name):
    make, tx = SUPPORTED[name]
    with jax.enable_x64(True):
        expected = _optax(tx(), jnp.complex128)
        for jit in (False, True):
            actual = _flarejax(make(), jnp.complex128, jit)
            for key in ("v", "w"):
                assert actual[key].dtype == jnp.complex128
                np.testing.assert_allclose(
                    actual[key], expected[key], rtol=1e-6, atol=1e-7, err_msg=f"{key}, jit={jit}"
                )


def test_the_issue_example_keeps_the_phase():
    """Adam's first step is -lr * g / |g| element-wise: the phase of the gradient."""
    opt = O.Adam(0.1)
    params = {"v": jnp.asarray(V0, jnp.complex64)}
    new = opt(params, {"v": jnp.asarray(GV, jnp.complex64)})
    g = np.asarray(GV)
    np.testing.assert_allclose(new["v"] - params["v"], -0.1 * g / np.abs(g), rtol=1e-5)
    # The second moment is real: |g|^2, in the parameter's real dtype.
    assert opt.v["v"].dtype == jnp.float32
    np.testing.assert_allclose(opt.v["v"], 0.001 * np.abs(g) ** 2, rtol=1e-4)


def test_complex_error_names_the_parameter_before_any_state():
    opt = O.SM3(0.1)
    params = {"layer": {"w": jnp.ones((2, 2), jnp.complex64)}}
    with pytest.raises(TypeError, match=r"SM3 does not support complex.*'layer.w' is complex64"):
        opt(params, params)
    assert opt.accumulators == {}


def test_a_real_momentum_dtype_keeps_complex_momenta_complex():
    """``accumulator_dtype=float32`` on complex64 parameters: a complex64 momentum.

    (optax casts the momentum to the dtype given, dropping the imaginary part;
    its complex64 run is the reference.)
    """
    opt = O.SGD(0.1, momentum=0.9, accumulator_dtype=jnp.float32)
    actual = _flarejax(opt, jnp.complex64, jit=True)
    tx = optax.sgd(0.1, momentum=0.9, accumulator_dtype=jnp.complex64)
    expected = _optax(tx, jnp.complex64)
    for key in ("v", "w"):
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-5, atol=1e-6)
    opt = O.Adam(0.1, mu_dtype=jnp.bfloat16)
    opt({"v": jnp.ones(2, jnp.complex64)}, {"v": jnp.ones(2, jnp.complex64)})
    assert opt.m["v"].dtype == jnp.complex64 and opt.v["v"].dtype == jnp.float32
