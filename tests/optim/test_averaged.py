"""AveragedModel and update_bn against torch.optim.swa_utils on the same numbers."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flarejax as flr
from flarejax.optim import SGD, Adam, AveragedModel, update_bn

torch = pytest.importorskip("torch")
swa_utils = pytest.importorskip("torch.optim.swa_utils")

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


def torch_average(seen: list[dict[str, np.ndarray]], **kwargs: Any) -> dict[str, np.ndarray]:
    """torch's AveragedModel, update_parameters after the steps AveragedModel averages."""
    module = torch.nn.ParameterDict(
        {k: torch.nn.Parameter(torch.zeros(v.shape)) for k, v in seen[0].items()}
    )
    averaged = swa_utils.AveragedModel(module, **kwargs)
    for t, params in enumerate(seen, start=1):
        with torch.no_grad():
            for k, v in params.items():
                module[k].copy_(torch.from_numpy(v.copy()))
        if t > START and (t - START) % EVERY == 0:
            averaged.update_parameters(module)
    return {k: averaged.module[k].detach().numpy() for k in seen[0]}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("decay", [None, 0.75], ids=["swa", "ema"])
def test_average_matches_torch_averaged_model(decay: float | None, jit: bool) -> None:
    opt = AveragedModel(SGD(0.05, momentum=0.9), decay, start=START, every=EVERY)
    seen, opt, model = trajectory(opt, jit)
    kwargs = {} if decay is None else {"multi_avg_fn": swa_utils.get_ema_multi_avg_fn(decay)}
    expected = torch_average(seen, **kwargs)
    got = opt.averaged_params(model)
    assert int(opt.n_averaged) == len(range(START + EVERY, STEPS + 1, EVERY))
    for k in expected:
        # float32 on both sides; torch's EMA is a lerp, its SWA a division, as here.
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


def torch_twin(model: BNNet) -> Any:
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 1)
    )
    with torch.no_grad():
        for i, layer in ((0, model.l1), (3, model.l2)):
            net[i].weight.copy_(torch.tensor(np.asarray(layer.kernel.get_value()).T))
            net[i].bias.copy_(torch.tensor(np.asarray(layer.bias.get_value())))
        net[1].weight.copy_(torch.tensor(np.asarray(model.bn.scale.get_value())))
        net[1].bias.copy_(torch.tensor(np.asarray(model.bn.bias.get_value())))
    return net


def test_update_bn_matches_torch() -> None:
    model = BNNet(nnx.Rngs(0))
    model.eval()
    size = 8
    batches = [
        (jax.random.normal(jax.random.key(i), (size, 3)) * (1 + i), jnp.zeros(size))
        for i in range(4)
    ]
    net = torch_twin(model)
    swa_utils.update_bn([torch.tensor(np.asarray(x)) for x, _ in batches], net)
    assert update_bn(model, batches) is model
    np.testing.assert_allclose(
        np.asarray(model.bn.mean.get_value()), net[1].running_mean.numpy(), rtol=1e-5, atol=1e-6
    )
    # torch's running variance is unbiased: m / (m - 1) times nnx's, m = 8 rows.
    np.testing.assert_allclose(
        np.asarray(model.bn.var.get_value()),
        net[1].running_var.numpy() * (size - 1) / size,
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
