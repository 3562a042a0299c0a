"""MARS against the authors' code (a NumPy port); one compilation; checkpoints and memory."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, models, quadratic_grads, run_flarejax, run_optax

import flarejax as flr

O = flr.optim


def mars_update_fn(
    p, grad, exp_avg, exp_avg_sq, lr, wd, beta1, beta2, last_grad, eps, step, gamma,
    is_grad_2d, optimize_1d, lr_1d_factor, betas_1d, weight_decay_1d,
):  # fmt: skip
    """github.com/AGI-Arena/MARS ``MARS/optimizers/mars.py`` ``update_fn``: its
    ``mars-adamw`` branch without ``amsgrad``, ported line by line from torch to
    float64 NumPy (the in-place ``mul_``/``add_``/``addcmul_`` become in-place
    array updates of ``p``, ``exp_avg`` and ``exp_avg_sq``)."""
    if optimize_1d or is_grad_2d:
        c_t = (grad - last_grad) * (gamma * (beta1 / (1.0 - beta1))) + grad
        c_t_norm = np.sqrt(np.sum(c_t * c_t))  # torch.norm(c_t): 2-norm of all entries
        if c_t_norm > 1.0:
            c_t = c_t / c_t_norm
        exp_avg *= beta1
        exp_avg += (1.0 - beta1) * c_t
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * (c_t * c_t)
        bias_correction1 = 1.0 - beta1**step
        bias_correction2 = 1.0 - beta2**step
        denom = (np.sqrt(exp_avg_sq) * (1 / math.sqrt(bias_correction2)) + eps) * bias_correction1
        real_update_tmp = -lr * (p * wd + exp_avg / denom)
        p += real_update_tmp
    else:
        beta1_1d, beta2_1d = betas_1d
        exp_avg *= beta1_1d
        exp_avg += (1.0 - beta1_1d) * grad
        exp_avg_sq *= beta2_1d
        exp_avg_sq += (1.0 - beta2_1d) * (grad * grad)
        bias_correction1 = 1.0 - beta1_1d**step
        bias_correction2 = 1.0 - beta2_1d**step
        denom = (np.sqrt(exp_avg_sq) * (1 / math.sqrt(bias_correction2)) + eps) * bias_correction1
        real_update_tmp = -lr * lr_1d_factor * (p * weight_decay_1d + exp_avg / denom)
        p += real_update_tmp


def run_reference(params, steps, lr, optimize_1d=False, **kw):
    """The reference's ``MARS.step`` loop (``is_approx=True``) on quadratic_grads, float64."""
    hp = dict(beta1=0.95, beta2=0.99, eps=1e-8, gamma=0.025, wd=0.0)
    hp.update(lr_1d_factor=1.0, betas_1d=(0.9, 0.95), weight_decay_1d=0.1)
    hp.update(kw)
    if optimize_1d:
        hp["weight_decay_1d"] = hp["wd"]
    leaves, treedef = jax.tree_util.tree_flatten(params)
    ps = [np.array(x, np.float64) for x in leaves]
    state = [[np.zeros_like(p) for _ in range(3)] for p in ps]
    for i in range(steps):
        current = treedef.unflatten([jnp.asarray(p, jnp.float32) for p in ps])
        grads = jax.tree_util.tree_leaves(quadratic_grads(current, i))
        for j, (p, g) in enumerate(zip(ps, grads)):
            g = np.array(g, np.float64)
            exp_avg, exp_avg_sq, last_grad = state[j]
            mars_update_fn(
                p, g, exp_avg, exp_avg_sq, lr, hp["wd"], hp["beta1"], hp["beta2"], last_grad,
                hp["eps"], i + 1, hp["gamma"], g.ndim == 2, optimize_1d,
                hp["lr_1d_factor"], hp["betas_1d"], hp["weight_decay_1d"],
            )  # fmt: skip
            state[j][2] = g
    return treedef.unflatten([jnp.asarray(p, jnp.float32) for p in ps])


CASES = {
    "defaults": ({}, {}),
    "decay_gamma_1d": (
        dict(weight_decay=0.1, gamma=0.5, lr_1d_factor=0.5, b1_1d=0.8, b2_1d=0.9),
        dict(wd=0.1, gamma=0.5, lr_1d_factor=0.5, betas_1d=(0.8, 0.9)),
    ),
    "optimize_1d": (
        dict(weight_decay=0.05, b1=0.9, b2=0.999, optimize_1d=True),
        dict(wd=0.05, beta1=0.9, beta2=0.999, optimize_1d=True),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_authors_mars(case):
    ours, theirs = CASES[case]
    params = models()["nested"]  # matrices, vectors and a scalar
    actual, _ = run_flarejax(lambda: O.MARS(0.05, **ours), params, 30, "jit")
    assert_trees_close(actual, run_reference(params, 30, 0.05, **theirs), rtol=2e-5, atol=2e-6)


def test_gamma_zero_on_small_gradients_is_adamw():
    # With gamma = 0 and gradients of norm < 1, MARS on matrices is AdamW.
    params = {"w": jnp.full((3, 2), 0.01)}
    tiny = lambda p, i: jax.tree_util.tree_map(lambda x: 0.01 * x, quadratic_grads(p, i))  # noqa: E731
    make = lambda: O.MARS(0.01, b1=0.9, b2=0.999, weight_decay=0.1, gamma=0.0)  # noqa: E731
    actual, _ = run_flarejax(make, params, 20, "eager", grads_fn=tiny)
    expected = run_optax(optax.adamw(0.01, weight_decay=0.1), params, 20, grads_fn=tiny)
    assert_trees_close(actual, expected, rtol=1e-5, atol=1e-7)


def test_compiles_once_after_init_and_round_trips_its_state():
    model = models()["flat"]
    traces = 0

    @jax.jit
    def step(opt, model, grads):
        nonlocal traces
        traces += 1
        return opt, opt(model, grads)

    opt = O.MARS(0.01, weight_decay=0.1)
    opt.init(model)
    for i in range(4):
        opt, model = step(opt, model, quadratic_grads(model, i))
    assert traces == 1
    restored = O.MARS(0.01, weight_decay=0.1)
    restored.init(model)
    restored.load_state_dict(opt.state_dict())
    grads = quadratic_grads(model, 4)
    assert_trees_close(restored(model, grads), opt(model, grads), rtol=0, atol=0)
    # m and v for every parameter, the previous gradient for the matrix only.
    assert sorted(opt.last_grad) == ["w"]
    assert O.state_bytes(opt) == (2 * (15 + 3) + 15) * 4 + 4
    assert "last_grad" in opt.summary(model)
