import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, f32, models, quadratic_grads, run_flarejax, run_optax

from flarejax.optim import Adam, ReduceLROnPlateau

# Improving for 10 steps, then a noisy plateau: several reductions, cooldowns and a floor.
LOSSES = np.concatenate([np.linspace(5, 1, 10), 1 + 0.01 * np.sin(np.arange(40))])
KW = {"factor": 0.5, "patience": 3, "cooldown": 2, "accumulation_size": 2, "min_scale": 0.2}


def test_reduce_on_plateau_matches_optax():
    params = models()["nested"]
    tx = optax.chain(f32(optax.adam, 0.05), optax.contrib.reduce_on_plateau(**KW))
    expected = run_optax(
        tx, params, 50, extra_args_fn=lambda p, s: {"value": jnp.float32(LOSSES[s])}
    )
    for mode in ("eager", "init"):
        actual, opt = run_flarejax(
            lambda: ReduceLROnPlateau(Adam(0.05), **KW),
            params,
            50,
            mode,
            extras_fn=lambda p, s: {"loss": jnp.float32(LOSSES[s])},
        )
        assert_trees_close(actual, expected)
    assert float(opt.scale) == pytest.approx(0.2)


def test_minimize_passes_the_loss():
    params = models()["flat"]
    opt = ReduceLROnPlateau(Adam(0.1), patience=1, rtol=0.5)
    loss_fn = lambda p: sum(jnp.sum((x - 3.0) ** 2) for x in jax.tree.leaves(p))  # noqa: E731
    for _ in range(5):
        params, _ = opt.minimize(loss_fn, params)
    assert float(opt.scale) < 1.0


def test_missing_loss_is_an_error_naming_loss():
    params = models()["flat"]
    opt = ReduceLROnPlateau(Adam(0.1))
    with pytest.raises(ValueError, match=r"needs the loss .*loss=loss"):
        opt(params, quadratic_grads(params, 0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rtol": 0.0, "atol": 0.0}, "at least one of rtol and atol must be > 0"),
    ],
)
def test_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(Adam(0.1), **kwargs)
