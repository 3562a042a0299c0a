import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import check_parity, models, quadratic_grads

from flarejax.optim import Chain, Clip, Scale, ScaleByLearningRate


def test_scale_matches_optax_with_the_sign_flipped_at_the_end():
    # optax adds the final update, flarejax subtracts it: optax.scale(-s) <-> Scale(s).
    check_parity(
        lambda: Chain(Clip(1.0), Scale(0.5), Scale(0.1)),
        optax.chain(optax.clip(1.0), optax.scale(0.5), optax.scale(-0.1)),
        model_names=("flat",),
        modes=("eager", "jit"),
    )


def test_scale_minus_one_flips_to_ascent():
    params = models()["flat"]
    g = quadratic_grads(params, 0)
    out = Scale(-1.0)(params, g)
    np.testing.assert_allclose(out["w"], params["w"] + g["w"], rtol=1e-6)


def test_scheduled_learning_rate_matches_optax():
    sched = optax.exponential_decay(0.1, 10, 0.5)
    check_parity(
        lambda: ScaleByLearningRate(sched),
        optax.scale_by_learning_rate(sched),
        model_names=("flat",),
    )


def test_constant_learning_rate_is_sgd_and_keeps_bfloat16():
    check_parity(
        lambda: ScaleByLearningRate(0.05),
        optax.sgd(0.05),
        steps=50,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        model_names=("flat",),
        modes=("jit",),
    )
    params = models(jnp.bfloat16)["flat"]
    out = ScaleByLearningRate(optax.constant_schedule(0.1))(params, quadratic_grads(params, 0))
    assert out["w"].dtype == jnp.bfloat16


def test_hyperparameters():
    assert float(ScaleByLearningRate(0.5).hyperparameters()["learning_rate"]) == 0.5
    with pytest.raises(TypeError):
        Scale()  # type: ignore[call-arg]
