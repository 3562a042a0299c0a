"""AveragedModel and update_bn against float64 ports of torch.optim.swa_utils."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr
from flarejax.optim import SGD, Adam, AveragedModel, update_bn

START, EVERY, STEPS = 3, 2, 12


def quadratic_grads(model: dict[str, jax.Array]) -> dict[str, jax.Array]:
    return {"w": 2 * model["w"] - 1.0, "b": 3 * model["b"] ** 2}


def trajectory(opt: Any, jit: bool) -> tuple[list[dict[str, np.ndarray]], Any, Any]:
    """The parameters after each step, and the optimizer and model at the end."""
    model = {"w": jnp.linspace(-1.0, 2.0, 5), "b": jnp.array([0.5, -0.25])}

    def step(o: Any, m: Any) -> tuple[Any, Any]:
        m = o(m, quadratic_grads(m))
        return o, m

    run = jax.jit(step) if jit else step
    seen = []
    for _ in range(STEPS):
        opt, model = run(opt, model)
        seen.append({k: np.asarray(v) for k, v in model.items()})
    return seen, opt, model


def torch_average(seen: list[dict[str, np.ndarray]], decay: float | None) -> dict[str, np.ndarray]:
    """torch's AveragedModel, update_parameters after the steps AveragedModel averages.

    A float64 port of torch/optim/swa_utils.py ``AveragedModel.update_parameters``:
    the first update copies the parameters, each later one is the ``_foreach_lerp_``
    of ``get_swa_multi_avg_fn`` (weight ``1 / (n_averaged + 1)``) or, with a decay,
    of ``get_ema_multi_avg_fn`` (weight ``1 - decay``).
    """
    averaged: dict[str, np.ndarray] = {}
    n_averaged = 0
    for t, params in enumerate(seen, start=1):
        if not (t > START and (t - START) % EVERY == 0):
            continue
        current = {k: v.astype(np.float64) for k, v in params.items()}
        if n_averaged == 0:
            averaged = current
        else:
            weight = 1 / (n_averaged + 1) if decay is None else 1 - decay
            averaged = {k: averaged[k] + weight * (current[k] - averaged[k]) for k in current}
        n_averaged += 1
    return averaged


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("decay", [None, 0.75], ids=["swa", "ema"])
def test_average_matches_torch_averaged_model(decay: float | None, jit: bool) -> None:
    opt = AveragedModel(SGD(0.05, momentum=0.9), decay, start=START, every=EVERY)
    seen, opt, model = trajectory(opt, jit)
    expected = torch_average(seen, decay)
    got = opt.averaged_params(model)
    assert int(opt.n_averaged) == len(range(START + EVERY, STEPS + 1, EVERY))
    for k in expected:
        # float32 here against the float64 reference; torch's EMA and SWA are lerps.
        np.testing.assert_allclose(np.asarray(got[k]), expected[k], rtol=1e-6, atol=1e-7)
    # Training follows the wrapped optimizer alone.
    _, _, plain_model = trajectory(SGD(0.05, momentum=0.9), jit)
    for k in model:
        np.testing.assert_array_equal(np.asarray(model[k]), np.asarray(plain_model[k]))


def test_before_any_average_the_model_is_returned() -> None:
    opt = AveragedModel(Adam(0.1), start=5)
    model = {"w": jnp.ones(3), "b": jnp.zeros(2)}
    model = opt(model, quadratic_grads(model))
    assert int(opt.n_averaged) == 0
    for k, v in opt.averaged_params(model).items():
        np.testing.assert_array_equal(np.asarray(v), np.asarray(model[k]))


@pytest.mark.parametrize(
    ("kwargs", "match", "error"),
    [
        ({"decay": 1.0}, "decay", ValueError),
        ({"start": -1}, "start", ValueError),
        ({"every": 0}, "every", ValueError),
        ({"every": 1.5}, "every", TypeError),
        ({"start": True}, "start", TypeError),
    ],
)
def test_bad_arguments_name_themselves(kwargs: dict[str, Any], match: str, error: type) -> None:
    with pytest.raises(error, match=match):
        AveragedModel(SGD(0.1), **kwargs)


# -- update_bn ----------------------------------------------------------------------

nnx = pytest.importorskip("flax.nnx")


class BNNet(nnx.Module):
    def __init__(self, rngs: Any) -> None:
        self.l1 = nnx.Linear(3, 4, rngs=rngs)
        self.bn = nnx.BatchNorm(4, momentum=0.9, rngs=rngs)
        self.l2 = nnx.Linear(4, 1, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l2(nnx.relu(self.bn(self.l1(x))))


def torch_update_bn(model: BNNet, batches: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The running mean and (unbiased) variance torch's update_bn leaves in BatchNorm1d.

    A float64 port of torch/optim/swa_utils.py ``update_bn`` on the model's twin
    ``Sequential(Linear, BatchNorm1d, ReLU, Linear)``: the running statistics are
    reset to zero mean and unit variance, momentum is set to None (a cumulative
    average, ``torch.nn.modules.batchnorm._BatchNorm.forward`` with factor
    ``1 / num_batches_tracked``), and each batch's mean and unbiased variance of the
    first Linear's output are folded in.
    """
    kernel = np.asarray(model.l1.kernel.get_value(), np.float64)
    bias = np.asarray(model.l1.bias.get_value(), np.float64)
    mean, var = np.zeros(kernel.shape[1]), np.ones(kernel.shape[1])
    for n, x in enumerate(batches, start=1):
        h = np.asarray(x, np.float64) @ kernel + bias
        factor = 1 / n
        mean = (1 - factor) * mean + factor * h.mean(axis=0)
        var = (1 - factor) * var + factor * h.var(axis=0, ddof=1)
    return mean, var


def test_update_bn_matches_torch() -> None:
    model = BNNet(nnx.Rngs(0))
    model.eval()
    size = 8
    batches = [
        (jax.random.normal(jax.random.key(i), (size, 3)) * (1 + i), jnp.zeros(size))
        for i in range(4)
    ]
    running_mean, running_var = torch_update_bn(model, [x for x, _ in batches])
    assert update_bn(model, batches) is model
    np.testing.assert_allclose(
        np.asarray(model.bn.mean.get_value()), running_mean, rtol=1e-5, atol=1e-6
    )
    # torch's running variance is unbiased: m / (m - 1) times nnx's, m = 8 rows.
    np.testing.assert_allclose(
        np.asarray(model.bn.var.get_value()),
        running_var * (size - 1) / size,
        rtol=1e-5,
        atol=1e-6,
    )
    assert model.bn.momentum == 0.9 and model.bn.use_running_average


def test_update_bn_on_averaged_params_leaves_the_trained_model() -> None:
    model = BNNet(nnx.Rngs(0))
    opt = AveragedModel(SGD(0.1))
    x = jax.random.normal(jax.random.key(3), (8, 3))

    def loss(m: BNNet) -> jax.Array:
        return jnp.mean(m(x) ** 2)

    for _ in range(3):
        opt.minimize(loss, model)
    before = np.asarray(model.bn.mean.get_value())
    averaged = update_bn(opt.averaged_params(model), [x])
    assert isinstance(averaged, BNNet) and averaged is not model
    np.testing.assert_array_equal(np.asarray(model.bn.mean.get_value()), before)
    assert not np.allclose(np.asarray(averaged.bn.mean.get_value()), before)


def test_update_bn_errors() -> None:
    with pytest.raises(TypeError, match=r"flax\.nnx\.Module"):
        update_bn({"w": jnp.ones(2)}, [jnp.ones(2)])
    model = BNNet(nnx.Rngs(0))
    with pytest.raises(ValueError, match="empty"):
        update_bn(model, [])
    assert model.bn.momentum == 0.9 and not model.bn.use_running_average
    assert flr.optim.update_bn is update_bn
