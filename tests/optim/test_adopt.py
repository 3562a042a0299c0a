import jax
import jax.numpy as jnp
import optax
import pytest
from helpers import assert_trees_close, check_parity, models, run_flarejax, run_optax

import flarejax as flr

# clip_value_fn is a function, not a schedule: it must stay static in the reference.
_REF = optax.inject_hyperparams(
    optax.contrib.adopt, static_args=("clip_value_fn", "nesterov", "use_clipping")
)


def test_adopt_matches_optax():
    check_parity(
        lambda: flr.optim.ADOPT(0.01),
        _REF(0.01),
        modes=("eager", "init"),
        model_names=("nested",),
    )


@pytest.mark.parametrize(
    "options",
    [
        {"nesterov": True, "use_clipping": False},
        {"clip_value_fn": lambda count: 1.0 + 0.5 * count},
    ],
)
def test_adopt_options_and_schedule_match_optax(options):
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs = {"b1": 0.8, "b2": 0.99, "eps": 1e-4}
    check_parity(
        lambda: flr.optim.ADOPT(sched, **kwargs, **options),
        _REF(sched, **kwargs, **options),
        modes=("jit",),
        model_names=("matrix",),
    )


def test_adopt_mu_dtype_matches_optax():
    # Plain optax as reference: the float32-injected one would compute b1 * m in
    # float32 before storing it in bfloat16; optax and flarejax round it to bfloat16.
    params = models()["matrix"]
    make = lambda: flr.optim.ADOPT(0.01, mu_dtype=jnp.bfloat16)  # noqa: E731
    actual, opt = run_flarejax(make, params, 50, "init")
    expected = run_optax(optax.contrib.adopt(0.01, mu_dtype=jnp.bfloat16), params, 50)
    assert_trees_close(actual, expected)
    assert [m.dtype for m in opt.m.values()] == [jnp.bfloat16]


def test_adopt_bfloat16():
    params = models(jnp.bfloat16)["matrix"]
    actual, _ = run_flarejax(lambda: flr.optim.ADOPT(0.01), params, 20, "jit")
    expected = run_optax(optax.contrib.adopt(0.01), params, 20)
    assert_trees_close(actual, expected, rtol=2e-2, atol=2e-2)
    assert all(p.dtype == jnp.bfloat16 for p in jax.tree.leaves(actual))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"learning_rate": -0.1}, r"learning_rate must be >= 0, got -0\.1"),
        ({"b1": 1.0}, r"b1 must be in \[0, 1\), got 1\.0"),
        ({"b2": -0.5}, r"b2 must be in \[0, 1\), got -0\.5"),
        ({"eps": -1e-6}, r"eps must be >= 0, got -1e-06"),
        ({"mu_dtype": "int32"}, r"mu_dtype must be a floating dtype"),
    ],
)
def test_adopt_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flr.optim.ADOPT(**{"learning_rate": 0.01, **kwargs})
