"""SOAP against the authors' PyTorch code, and its state: one compilation, float32, round trip.

The expected parameters come from ``soap.py`` of github.com/nikhilvyas/SOAP at
commit a1e553530fde97d0e6b307d7c82ac6d38b072340, run with torch 2.13 (float32, CPU)
on the cases below: the same initial parameters and gradients (NumPy's
``default_rng(0)``: every parameter, then every step's gradients, in the order
of ``SHAPES``), 7 calls of ``step()``, printed to 7 decimals.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr
from flarejax.optim._interop._state_dict import load_state_dict, state_dict
from flarejax.optim._optimizers._soap import merged_shape

SHAPES = {
    "A": dict(w=(4, 3), k=(2, 3, 2), b=(3,), s=()),
    "B": dict(w=(4, 3), k=(2, 2, 3), e=(7, 2), b=(2,), s=()),
}
# torch's SOAP(params, lr, betas=(b1, b2), ...) keyword arguments, by case.
TORCH_ARGS = {
    # Refreshes by QR at steps 2, 4 and 6; decoupled decay; vectors and scalars plain Adam.
    "A": dict(lr=0.05, betas=(0.9, 0.95), weight_decay=0.1, precondition_frequency=2),
    # k merges to (4, 3); e's axis of 7 stays unrotated; b is rotated (precondition_1d).
    "B": dict(
        lr=0.05,
        betas=(0.8, 0.9),
        shampoo_beta=0.7,
        weight_decay=0.0,
        precondition_frequency=3,
        max_precond_dim=4,
        merge_dims=True,
        precondition_1d=True,
        normalize_grads=True,
    ),
}
STEPS = 7
EXPECTED = {
    "A": {
        "w": [
            [0.1652244, -0.2823584, 0.609907],
            [0.0714985, -0.5046535, 0.3504447],
            [1.0665067, 0.7972909, -0.6851803],
            [-1.2128278, -0.7377962, -0.0895451],
        ],
        "k": [
            [[-2.1900048, 0.1063234], [-1.0561664, -0.64929], [-0.6790732, -0.2825243]],
            [[0.3544416, 1.1825372], [-0.2095182, 1.2697365], [-0.5622711, 0.0787946]],
        ],
        "b": [0.8200773, 0.1092122, -0.4902985],
        "s": -0.8291315,
    },
    "B": {
        "w": [
            [0.2968496, -0.066172, 1.0795022],
            [0.3188872, -0.7333061, 0.0879982],
            [1.3371978, 0.8559483, -0.8946404],
            [-1.5862546, -0.9272321, 0.337851],
        ],
        "k": [
            [[-2.3355165, -0.7611725, -1.3251942], [-0.3288335, -0.1611621, -0.1487122]],
            [[0.0862894, 0.875014, -0.0352947], [1.3668268, -0.8451989, 0.7429357]],
        ],
        "e": [
            [1.1123898, 0.1554662],
            [-0.3397818, -0.9237171],
            [-0.4799663, 0.4748749],
            [-0.5771667, -0.2999682],
            [0.0694431, 0.7785695],
            [0.1531303, 0.2508548],
            [-0.4303752, -0.4711745],
        ],
        "b": [0.8313342, 1.1778251],
        "s": -1.2866073,
    },
}


def _case(name):
    r = np.random.default_rng(0)
    shapes = SHAPES[name]
    params = {k: r.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    grads = [
        {k: r.normal(size=s).astype(np.float32) for k, s in shapes.items()} for _ in range(STEPS)
    ]
    return jax.tree.map(jnp.asarray, params), jax.tree.map(jnp.asarray, grads)


def _make(name):
    kw = dict(TORCH_ARGS[name])
    b1, b2 = kw.pop("betas")
    return flr.optim.SOAP(kw.pop("lr"), b1, b2, **kw)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_soap_matches_the_authors_pytorch_code(name):
    params, grads = _case(name)
    opt = _make(name)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    for g in grads:
        opt, params = step(opt, params, g)
    for k, expected in EXPECTED[name].items():
        # float32 both sides; eigh and QR are LAPACK's in both, the products not:
        # the runs differ by at most 5e-7, the printed numbers by 5e-8 more.
        np.testing.assert_allclose(params[k], expected, rtol=1e-5, atol=2e-6, err_msg=k)


def test_the_first_call_only_builds_the_bases():
    params, grads = _case("A")
    opt = _make("A")
    after = opt(params, grads[0])
    for k in params:
        np.testing.assert_array_equal(after[k], params[k])
    gram = grads[0]["w"] @ grads[0]["w"].T * (1 - 0.95)
    np.testing.assert_allclose(opt.gg["w"][0], gram, rtol=1e-6)
    q = opt.q["w"][0]
    eigenvalues = jnp.diag(q.T @ gram @ q)
    assert bool(jnp.all(eigenvalues[:-1] >= eigenvalues[1:]))  # descending
    assert int(opt.t) == 1


def test_merged_shape_as_the_reference():
    assert merged_shape((2, 2, 3), 4) == (4, 3)
    assert merged_shape((7, 2), 4) == (7, 2)
    assert merged_shape((3, 4, 2), 8) == (3, 8)
    assert merged_shape((64, 3, 3, 3), 10000) == (1728,)


def test_one_compilation_after_init_and_state_dict_round_trip():
    params, grads = _case("A")
    traces = 0

    def step(opt, p, g):
        nonlocal traces
        traces += 1
        return opt, opt(p, g)

    jitted = jax.jit(step)
    opt = _make("A")
    opt.init(params)
    p = params
    for g in grads[:3]:  # the eigh build, an Adam step, a QR refresh
        opt, p = jitted(opt, p, g)
    assert traces == 1
    restored = _make("A")
    restored.init(params)
    load_state_dict(restored, state_dict(opt))
    q = p
    for g in grads[3:5]:
        opt, p = jitted(opt, p, g)
        restored, q = jitted(restored, q, g)
    assert traces == 1
    assert jitted._cache_size() == 1  # compiled once, too
    for k in params:
        np.testing.assert_array_equal(p[k], q[k])


def test_state_is_float32_for_bfloat16_and_shows_in_summary():
    params = {"w": jnp.zeros((5, 3), jnp.bfloat16), "b": jnp.zeros(3, jnp.bfloat16)}
    opt = flr.optim.SOAP(1e-3)
    opt.init(params)
    assert [x.shape for x in opt.gg["w"]] == [(5, 5), (3, 3)]
    assert "b" not in opt.gg  # vectors: Adam
    states = jax.tree.leaves((opt.m, opt.v, opt.gg, opt.q))
    assert {x.dtype for x in states} == {jnp.dtype(jnp.float32)}
    grads = jax.tree.map(lambda x: jnp.ones_like(x).at[0].set(2), params)
    new = opt(opt(params, grads), grads)
    assert {x.dtype for x in jax.tree.leaves(new)} == {jnp.dtype(jnp.bfloat16)}
    assert "q.1" in flr.optim.summary(opt, params)
