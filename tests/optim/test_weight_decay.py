import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import check_parity, f32, models, quadratic_grads

from flarejax.optim import SGD, AddDecayedWeights, Chain


def _kernel_mask(params):
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "name", None) == "kernel", params
    )


def test_masked_decay_matches_optax():
    check_parity(
        lambda: Chain(AddDecayedWeights(0.1, mask="*.kernel"), SGD(0.05, momentum=0.9)),
        optax.chain(optax.add_decayed_weights(0.1, mask=_kernel_mask), optax.sgd(0.05, 0.9)),
        model_names=("nested",),
    )


def test_scheduled_decay_matches_optax():
    sched = optax.linear_schedule(0.5, 0.0, 20)
    check_parity(
        lambda: Chain(AddDecayedWeights(sched), SGD(0.05)),
        optax.chain(f32(optax.add_decayed_weights, sched), optax.sgd(0.05)),
        model_names=("matrix",),
        modes=("jit",),
    )


def test_callable_mask_of_the_key():
    params = models()["flat"]
    g = quadratic_grads(params, 0)
    out = Chain(AddDecayedWeights(1.0, mask=lambda key: key == "w"), SGD(1.0))(params, g)
    np.testing.assert_allclose(out["b"], params["b"] - g["b"], rtol=1e-6)
    np.testing.assert_allclose(out["w"], params["w"] - g["w"] - params["w"], rtol=1e-5, atol=1e-6)


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0, got -0\.1"):
        AddDecayedWeights(-0.1)
    with pytest.raises(ValueError, match=r"invalid regular expression in pattern 're:\['"):
        AddDecayedWeights(0.1, mask="re:[")
    assert jnp.ndim(AddDecayedWeights().weight_decay) == 0
