import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, f32, models, run_flarejax, run_optax

import flarejax as flr


def loss_fn(params):
    """A noise-free quadratic with minimum 0, so that the Polyak step is well behaved."""
    leaves = jax.tree.leaves(params)
    return sum(
        (i + 1.0) * jnp.sum((p.astype(jnp.float32) - 0.5 * i) ** 2) for i, p in enumerate(leaves)
    )


_value_and_grad = jax.jit(jax.value_and_grad(loss_fn))


def grads_fn(params, step):
    return _value_and_grad(params)[1]


def value_of(params):
    return _value_and_grad(params)[0]


def check(make_opt, tx, model="nested", modes=("jit", "init"), dtype=jnp.float32, tol=None):
    params = models(dtype)[model]
    expected = run_optax(
        tx, params, 50, grads_fn, extra_args_fn=lambda p, s: {"value": value_of(p)}
    )
    for mode in modes:
        actual, _ = run_flarejax(
            make_opt, params, 50, mode, grads_fn, extras_fn=lambda p, s: {"loss": value_of(p)}
        )
        if dtype == jnp.bfloat16:
            assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(actual))
        assert_trees_close(actual, expected, **(tol or {}))


def test_polyak_sgd_matches_optax():
    check(lambda: flr.optim.PolyakSGD(), optax.polyak_sgd())


def test_polyak_sgd_options_match_optax():
    sched = optax.linear_schedule(1.0, 0.5, 30)
    kwargs = {"max_learning_rate": 0.05, "f_min": 1.0, "eps": 1e-3, "variant": "sps+"}
    check(
        lambda: flr.optim.PolyakSGD(scaling=sched, **kwargs),
        f32(optax.polyak_sgd, scaling=sched, **kwargs),
        model="flat",
        modes=("eager",),
    )


def test_polyak_sgd_bfloat16_keeps_dtype():
    check(
        lambda: flr.optim.PolyakSGD(max_learning_rate=0.1),
        optax.polyak_sgd(max_learning_rate=0.1),
        model="flat",
        modes=("jit",),
        dtype=jnp.bfloat16,
        tol={"rtol": 2e-2, "atol": 2e-2},
    )


def test_polyak_sgd_needs_the_loss():
    params = models()["flat"]
    with pytest.raises(TypeError, match="loss"):
        flr.optim.PolyakSGD()(params, params)


def test_polyak_sgd_minimize_passes_the_loss():
    opt = flr.optim.PolyakSGD(max_learning_rate=0.5)
    model, loss = opt.minimize(lambda p: jnp.sum((p - 3.0) ** 2), jnp.zeros(3))
    # f = 27, g = -6 everywhere, |g|^2 = 108: the step is 27 / 108 = 0.25 (< 0.5).
    assert float(loss) == 27.0
    assert jnp.allclose(model, 0.25 * 6.0)
