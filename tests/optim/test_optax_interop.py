import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from flax.training import train_state
from helpers import assert_trees_close, f32, models, run_flarejax, run_optax

import flarejax as flr
from flarejax.optim._interop._optax import OptaxOptimizer, from_optax, to_optax

# -- from_optax ---------------------------------------------------------------------


def test_from_optax_forwards_loss_as_value():
    # polyak_sgd needs the loss; reduce_on_plateau too (inside a chain).
    def loss_of(params, step):
        return {"value": sum(jnp.sum(x**2) for x in jax.tree.leaves(params)) + 0.1 * step}

    for tx in (
        optax.polyak_sgd(max_learning_rate=0.5),
        optax.chain(optax.adam(0.05), optax.contrib.reduce_on_plateau(patience=2, factor=0.5)),
    ):
        params = models()["flat"]
        expected = run_optax(tx, params, 20, extra_args_fn=loss_of)
        for mode in ("eager", "init"):
            actual, _ = run_flarejax(
                lambda tx=tx: from_optax(tx),
                params,
                20,
                mode,
                extras_fn=lambda p, s: {"loss": loss_of(p, s)["value"]},
            )
            assert_trees_close(actual, expected, 1e-6, 1e-7)


def test_from_optax_init_then_jit_compiles_once():
    params = models()["nested"]
    opt = from_optax(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.01)))
    opt.init(params)
    assert opt.opt_state is not None
    traces = []

    @jax.jit
    def step(opt, params, grads):
        traces.append(1)
        return opt, opt(params, grads)

    for i in range(4):
        opt, params = step(opt, params, jax.tree.map(lambda x, i=i: jnp.cos(x + i), params))
    assert len(traces) == 1


def test_from_optax_leaves_non_parameters_and_no_grad_parameters_alone():
    model = {"w": jnp.ones((2, 3)), "frozen": jnp.ones(3), "n": jnp.arange(3), "c": 2.0, "s": "x"}
    grads = {"w": jnp.ones((2, 3)), "frozen": None, "n": None, "c": None, "s": None}

    # Under the user's jax.jit the Python float is traced (a parameter, without a
    # gradient); eagerly it is a constant. Either way it is left alone.
    def jitted(o, m, g):
        run = jax.jit(lambda o, m, g: {**o({**m, "s": "x"}, {**g, "s": None}), "s": None})
        drop = lambda t: {k: v for k, v in t.items() if k != "s"}  # noqa: E731
        return {**run(o, drop(m), drop(g)), "s": "x"}

    for run in (lambda o, m, g: o(m, g), jitted):
        new = run(from_optax(optax.sgd(0.5)), model, grads)
        np.testing.assert_allclose(new["w"], 0.5)
        np.testing.assert_array_equal(new["frozen"], model["frozen"])
        assert new["n"].dtype == jnp.int32 and new["c"] == 2.0 and new["s"] == "x"


def test_from_optax_hyperparameters_and_errors():
    opt = from_optax(optax.inject_hyperparams(optax.adam)(0.01, b1=0.8))
    # Before the state is built: the values it will start from.
    assert float(opt.hyperparameters()["learning_rate"]) == pytest.approx(0.01)
    params = models()["flat"]
    params = opt(params, params)
    hp = opt.hyperparameters()
    assert float(hp["learning_rate"]) == pytest.approx(0.01) and float(hp["b1"]) == pytest.approx(
        0.8
    )
    with pytest.raises(ValueError, match=r"differ from those the optax state was built for"):
        opt({**params, "extra": jnp.ones(2)}, {**params, "extra": jnp.ones(2)})
    with pytest.raises(TypeError, match="expects an optax GradientTransformation"):
        from_optax(flr.optim.Adam(0.01))
    assert isinstance(opt, OptaxOptimizer) and isinstance(opt, flr.optim.Optimizer)


# -- to_optax -----------------------------------------------------------------------


class SignMomentum(flr.optim.Optimizer):
    """A user's tutorial-style optimizer."""

    def __init__(self, learning_rate, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.m = {}

    def call_param(self, key, grad, **_):
        if key not in self.m:
            self.m[key] = jnp.zeros_like(grad)
        self.m[key] = self.beta * self.m[key] + (1 - self.beta) * grad
        return self.learning_rate * jnp.sign(self.m[key])


class LossScaled(flr.optim.Optimizer):
    """Full control: overrides __call__, and uses the loss."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def __call__(self, model, grads, *, loss, **_):
        return jax.tree.map(lambda p, g: p - self.learning_rate * loss * g, model, grads)


@pytest.mark.parametrize(
    "make",
    [
        lambda: flr.optim.Adam(0.01),
        lambda: flr.optim.AdamW(0.01, weight_decay=0.1),
        lambda: flr.optim.SGD(0.05, momentum=0.9, nesterov=True),
        lambda: SignMomentum(0.01),
    ],
    ids=["adam", "adamw", "sgd", "tutorial"],
)
def test_to_optax_equals_flarejax(make):
    params = models()["nested"]
    expected, _ = run_flarejax(make, params, 20, "jit")
    assert_trees_close(run_optax(to_optax(make()), params, 20), expected, 1e-6, 1e-7)


def test_to_optax_forwards_value_as_loss_and_full_control_optimizers():
    def value(params, step):
        return {"value": jnp.float32(0.5 + step % 3)}

    params = models()["flat"]
    expected, _ = run_flarejax(
        lambda: LossScaled(0.01),
        params,
        10,
        "jit",
        extras_fn=lambda p, s: {"loss": value(p, s)["value"]},
    )
    actual = run_optax(to_optax(LossScaled(0.01)), params, 10, extra_args_fn=value)
    assert_trees_close(actual, expected, 1e-6, 1e-7)


def test_to_optax_never_touches_the_users_optimizer():
    params = models()["flat"]
    opt = flr.optim.Adam(0.01)
    opt(params, params)  # trained: eager steps donate an optimizer's own buffers
    before = {k: np.asarray(v) for k, v in opt.m.items()}
    tx = to_optax(opt)
    state = tx.init(params)
    assert isinstance(state, flr.optim.Adam) and state is not opt and tx.init(params) is not state
    _, new_state = tx.update(params, state, params)  # eagerly
    _, newer = tx.update(params, state, params)  # the old state is still valid
    assert int(opt.t) == 1 and int(state.t) == 1 and int(new_state.t) == int(newer.t) == 2
    jax.tree.map(
        np.testing.assert_array_equal, {k: np.asarray(v) for k, v in opt.m.items()}, before
    )
    opt(params, params)  # the user's optimizer still works
    with pytest.raises(ValueError, match="needs params"):
        tx.update(params, state)
    with pytest.raises(TypeError, match="must be the optimizer returned by init"):
        tx.update(params, {}, params)
    fresh = to_optax(flr.optim.Adam(0.01)).init(params)
    assert fresh.m.keys() == params.keys() and int(fresh.t) == 0  # pre-built by init


def test_to_optax_inside_chain():
    params = models()["nested"]
    expected = run_optax(
        optax.chain(optax.clip_by_global_norm(1.0), f32(optax.adam, 0.01)), params, 30
    )
    actual = run_optax(
        optax.chain(optax.clip_by_global_norm(1.0), to_optax(flr.optim.Adam(0.01))), params, 30
    )
    assert_trees_close(actual, expected)


class _MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(nn.relu(nn.Dense(8)(x)))


def _data():
    r = np.random.default_rng(1)
    x = jnp.asarray(r.normal(size=(32, 3)), jnp.float32)
    return x, jnp.sum(x, axis=1, keepdims=True) ** 2


def test_flax_train_state_with_to_optax_and_from_optax_round_trip():
    x, y = _data()
    model = _MLP()
    params = model.init(jax.random.key(0), x)["params"]

    @jax.jit
    def train_step(state, x, y):
        def loss_fn(params):
            return jnp.mean((state.apply_fn({"params": params}, x) - y) ** 2)

        grads = jax.grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads)

    finals = []
    for tx in (
        f32(optax.adamw, 0.01, weight_decay=0.1),
        to_optax(flr.optim.AdamW(0.01, weight_decay=0.1)),
        to_optax(from_optax(optax.adamw(0.01, weight_decay=0.1))),
    ):
        state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=tx)
        for _ in range(20):
            state = train_step(state, x, y)
        finals.append(state.params)
    assert_trees_close(finals[1], finals[0])
    assert_trees_close(finals[2], finals[0], 1e-5, 1e-6)


def test_flax_nnx_optimizer_with_to_optax():
    x, y = _data()

    def train(tx):
        model = nnx.Sequential(
            nnx.Linear(3, 8, rngs=nnx.Rngs(0)), nnx.relu, nnx.Linear(8, 1, rngs=nnx.Rngs(1))
        )
        optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)

        @nnx.jit
        def step(model, optimizer, x, y):
            grads = nnx.grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
            optimizer.update(model, grads)

        for _ in range(20):
            step(model, optimizer, x, y)
        return nnx.state(model, nnx.Param)

    expected = train(f32(optax.adam, 0.01))
    assert_trees_close(train(to_optax(flr.optim.Adam(0.01))), expected)
