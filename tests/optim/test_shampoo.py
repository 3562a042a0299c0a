"""Shampoo against a float64 NumPy implementation; Newton roots against eigh roots."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr
from flarejax.optim._interop._state_dict import load_state_dict, state_dict
from flarejax.optim._optimizers._shampoo import inverse_root_eigh, inverse_root_newton


def numpy_shampoo(params, grads_list, lr, b1, b2, eps, matrix_eps, wd, block, freq, start, graft):
    """Shampoo as in the docstring, in float64 NumPy, written without the class."""
    params = {k: np.asarray(v, np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    stats, precs = {}, {}
    for t, grads in enumerate(grads_list, start=1):
        for k, p in params.items():
            g = np.asarray(grads[k], np.float64)
            m[k] = b1 * m[k] + (1 - b1) * g
            m_hat = m[k] / (1 - b1**t)
            if graft == "adam":
                v[k] = b2 * v[k] + (1 - b2) * g**2
                a = m_hat / (np.sqrt(v[k] / (1 - b2**t)) + eps)
            elif graft == "adagrad":
                v[k] = v[k] + g**2
                a = m_hat / (np.sqrt(v[k]) + eps)
            else:
                a = m_hat
            u = a
            if g.ndim >= 2:
                ranges = [[(i, min(i + block, n)) for i in range(0, n, block)] for n in g.shape]
                u = np.zeros_like(g)
                for bi, b in enumerate(itertools.product(*ranges)):
                    sl = tuple(slice(lo, hi) for lo, hi in b)
                    gb = g[sl]
                    d = m_hat[sl]
                    for axis in range(g.ndim):
                        unfolded = np.moveaxis(gb, axis, 0).reshape(gb.shape[axis], -1)
                        n = gb.shape[axis]
                        s = stats.get((k, bi, axis), np.zeros((n, n)))
                        s = b2 * s + (1 - b2) * unfolded @ unfolded.T
                        stats[k, bi, axis] = s
                        if (t - 1) % freq == 0:
                            w, q = np.linalg.eigh(s / (1 - b2**t) + matrix_eps * np.eye(n))
                            precs[k, bi, axis] = q @ np.diag(w ** (-1 / (2 * g.ndim))) @ q.T
                        d = np.moveaxis(
                            np.tensordot(precs[k, bi, axis], d, axes=[[1], [axis]]), 0, axis
                        )
                    if graft is not None:
                        d = d * np.linalg.norm(a[sl]) / (np.linalg.norm(d) + 1e-16)
                    u[sl] = d
                if t < start:
                    u = a
            params[k] = p - lr * (u + wd * p)
    return params


def _case(steps=3):
    r = np.random.default_rng(0)
    params = {
        "w": jnp.asarray(r.normal(size=(5, 3)), jnp.float32),
        "k": jnp.asarray(r.normal(size=(2, 3, 2)), jnp.float32),
        "b": jnp.asarray(r.normal(size=3), jnp.float32),
        "s": jnp.asarray(0.5, jnp.float32),
    }
    grads = [
        {k: jnp.asarray(r.normal(size=p.shape), jnp.float32) for k, p in params.items()}
        for _ in range(steps)
    ]
    return params, grads


@pytest.mark.parametrize(
    "options",
    [
        # Blocks of 3 (w splits into a 3x3 and a 2x3 block), a refresh at steps 1 and 3.
        dict(graft="adam", block_size=3, precondition_frequency=2, start_preconditioning_step=1),
        # The coupled Newton iteration against NumPy's eigh roots.
        dict(
            graft="adagrad",
            block_size=8,
            precondition_frequency=1,
            start_preconditioning_step=2,
            root_method="newton",
        ),
        dict(graft=None, block_size=4, precondition_frequency=3, start_preconditioning_step=1),
    ],
    ids=["adam", "adagrad-start2-newton", "none"],
)
def test_shampoo_matches_float64_numpy(options):
    params, grads = _case()
    hp = dict(b1=0.9, b2=0.99, eps=1e-8, matrix_eps=1e-2, weight_decay=0.1)
    lr = 0.1 if options["graft"] is not None else 0.01
    expected = numpy_shampoo(
        params,
        grads,
        lr,
        hp["b1"],
        hp["b2"],
        hp["eps"],
        hp["matrix_eps"],
        hp["weight_decay"],
        options["block_size"],
        options["precondition_frequency"],
        options["start_preconditioning_step"],
        options["graft"],
    )
    opt = flr.optim.Shampoo(lr, **hp, **options)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    actual = params
    for g in grads:
        opt, actual = step(opt, actual, g)
    for k in params:
        # float32 against float64: the roots amplify rounding by at most 1/matrix_eps^(1/4).
        np.testing.assert_allclose(actual[k], expected[k], rtol=2e-5, atol=2e-6, err_msg=k)


@pytest.mark.parametrize("exponent", [2, 4, 8])
@pytest.mark.parametrize("spectrum", ["wide", "narrow"])
def test_newton_root_matches_eigh_root(exponent, spectrum):
    r = np.random.default_rng(exponent)
    q, _ = np.linalg.qr(r.normal(size=(6, 6)))
    # "narrow": the element-wise error max|M - I| of the first iteration grows there,
    # which stopped the reference's iteration at its start.
    w = {"wide": [0.01, 0.02, 0.05, 0.4, 1.0, 3.0], "narrow": [0.3, 1.5, 2.9, 4.6, 7.0, 5.0]}
    s = q @ np.diag(w[spectrum]) @ q.T
    w, q = np.linalg.eigh(s + 1e-3 * np.eye(6))
    expected = q @ np.diag(w ** (-1 / exponent)) @ q.T
    newton = inverse_root_newton(jnp.asarray(s, jnp.float32), exponent, 1e-3)
    eigh = inverse_root_eigh(jnp.asarray(s, jnp.float32), exponent, 1e-3)
    np.testing.assert_allclose(eigh, expected, rtol=1e-4, atol=1e-5)
    # The iteration stops at an RMS eigenvalue error of 1e-6; float32 products of
    # a matrix of condition number up to 3e2 lose a few more digits.
    np.testing.assert_allclose(newton, expected, rtol=2e-4, atol=2e-5)


def test_one_compilation_after_init_and_state_dict_round_trip():
    params, grads = _case(steps=5)
    traces = 0

    def step(opt, p, g):
        nonlocal traces
        traces += 1
        return opt, opt(p, g)

    jitted = jax.jit(step)
    opt = flr.optim.Shampoo(0.1, block_size=3, precondition_frequency=2)
    opt.init(params)
    p = params
    for g in grads[:3]:  # steps 1 and 3 refresh the preconditioners, step 2 does not
        opt, p = jitted(opt, p, g)
    assert traces == 1
    saved = state_dict(opt)
    restored = flr.optim.Shampoo(0.1, block_size=3, precondition_frequency=2)
    restored.init(params)
    load_state_dict(restored, saved)
    q = p
    for g in grads[3:]:
        opt, p = jitted(opt, p, g)
        restored, q = jitted(restored, q, g)
    assert traces == 1
    assert jitted._cache_size() == 1  # compiled once, too
    for k in params:
        np.testing.assert_array_equal(p[k], q[k])


def test_state_shapes_blocks_and_float32_for_bfloat16():
    params = {"w": jnp.zeros((5, 3), jnp.bfloat16), "b": jnp.zeros(3, jnp.bfloat16)}
    opt = flr.optim.Shampoo(0.1, block_size=4)
    opt.init(params)
    assert [[s.shape for s in block] for block in opt.stats["w"]] == [
        [(4, 4), (3, 3)],
        [(1, 1), (3, 3)],
    ]
    assert "b" not in opt.stats  # vectors: the grafting method only
    states = jax.tree.leaves((opt.m, opt.v, opt.stats, opt.preconditioners))
    assert {x.dtype for x in states} == {jnp.dtype(jnp.float32)}
    new = opt(params, jax.tree.map(jnp.ones_like, params))
    assert {x.dtype for x in jax.tree.leaves(new)} == {jnp.dtype(jnp.bfloat16)}
    assert "stats.1.0" in flr.optim.summary(opt, params)


def test_bad_options_name_the_argument():
    with pytest.raises(ValueError, match=r"^graft must be one of"):
        flr.optim.Shampoo(0.1, graft="lamb")
    with pytest.raises(ValueError, match=r"^root_method must be one of"):
        flr.optim.Shampoo(0.1, root_method="svd")
    with pytest.raises(ValueError, match=r"^exponent_override must be an integer"):
        flr.optim.Shampoo(0.1, root_method="newton", exponent_override=2.5)
    with pytest.raises(ValueError, match=r"^block_size must be an integer >= 1"):
        flr.optim.Shampoo(0.1, block_size=0)
