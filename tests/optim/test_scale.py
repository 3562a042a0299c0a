import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import check_parity, models, quadratic_grads

from flarejax.optim import Scale, ScaleByLearningRate


def test_scale_minus_one_flips_to_ascent():
    params = models()["flat"]
    g = quadratic_grads(params, 0)
    out = Scale(-1.0)(params, g)
    np.testing.assert_allclose(out["w"], params["w"] + g["w"], rtol=1e-6)


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
