import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, f32, models, run_flarejax, run_optax

import flarejax as flr


def test_lion_matches_optax():
    # sign() is discontinuous: the float32 reference keeps the argument identical.
    check_parity(
        lambda: flr.optim.Lion(0.001),
        f32(optax.lion, 0.001),
        modes=("eager", "init"),
        model_names=("nested",),
    )


def test_lion_mask_schedules_and_mu_dtype_match_optax():
    # Plain optax as reference: the float32-injected one would compute b2 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.
    lr = optax.linear_schedule(0.003, 0.0001, 30)
    wd = optax.linear_schedule(0.0, 0.5, 20)
    kwargs = {"b1": 0.8, "b2": 0.95, "mu_dtype": jnp.bfloat16, "weight_decay": wd}
    params = models()["nested"]
    make = lambda: flr.optim.Lion(lr, **kwargs, mask="re:enc\\..*")  # noqa: E731
    actual, opt = run_flarejax(make, params, 50, "jit")
    mask = {"enc": True, "scale": False}
    assert_trees_close(actual, run_optax(optax.lion(lr, **kwargs, mask=mask), params, 50))
    assert {m.dtype for m in opt.m.values()} == {jnp.dtype(jnp.bfloat16)}


def test_lion_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.Lion(0.001), params, 20, "jit")
    assert_trees_close(actual, run_optax(optax.lion(0.001), params, 20), rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"weight_decay": -0.1}, r"weight_decay must be >= 0, got -0\.1"),
        ({"mu_dtype": jnp.int32}, r"mu_dtype must be a floating dtype"),
        ({"mask": "bad:x"}, r"unknown pattern syntax"),
    ],
)
def test_lion_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.Lion(**{"learning_rate": 0.01, **kwargs})
