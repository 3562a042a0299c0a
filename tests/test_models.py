"""flarejax optimizers on the models of the ecosystem, against optax on the same loop."""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx, struct
from flax.training import train_state
from helpers import assert_trees_close, f32

import flarejax as flr
from flarejax.optim._interop._optax import from_optax


def _data(n_in=3):
    r = np.random.default_rng(1)
    x = jnp.asarray(r.normal(size=(16, n_in)), jnp.float32)
    return x, jnp.sin(x).sum(axis=1, keepdims=True)


def _mse(pred, y):
    return jnp.mean((pred - y) ** 2)


# -- Flax linen ---------------------------------------------------------------------


class _LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(1)(nn.tanh(nn.Dense(8)(x)))


class FlrTrainState(struct.PyTreeNode):
    """The seed's TrainState, holding a flarejax optimizer instead of tx and opt_state."""

    step: jax.Array
    apply_fn: Callable[..., Any] = struct.field(pytree_node=False)
    params: Any
    opt: flr.optim.Optimizer

    def apply_gradients(self, grads):
        return self.replace(step=self.step + 1, params=self.opt(self.params, grads))


def test_flax_linen_train_step_with_apply_fn():
    x, y = _data()
    model = _LinenMLP()
    params = model.init(jax.random.key(0), x)["params"]

    @jax.jit
    def train_step(state, x, y):
        grads = jax.grad(lambda p: _mse(state.apply_fn({"params": p}, x), y))(state.params)
        return state.apply_gradients(grads=grads)

    ref = train_state.TrainState.create(
        apply_fn=model.apply, params=params, tx=f32(optax.adam, 0.01)
    )
    state = FlrTrainState(
        step=jnp.zeros((), jnp.int32), apply_fn=model.apply, params=params, opt=flr.optim.Adam(0.01)
    )
    for _ in range(15):
        ref, state = train_step(ref, x, y), train_step(state, x, y)
    assert_trees_close(state.params, ref.params)
    assert int(state.step) == 15 and int(state.opt.t) == 15
    assert set(state.opt.m) == {"Dense_0.kernel", "Dense_0.bias", "Dense_1.kernel", "Dense_1.bias"}


# -- Flax nnx: the optimizer sees the Params; BatchNorm's statistics are left alone ---


class _NnxNet(nnx.Module):
    def __init__(self, rngs):
        self.linear = nnx.Linear(3, 8, use_bias=False, rngs=rngs)  # BatchNorm follows
        self.norm = nnx.BatchNorm(8, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.tanh(self.norm(self.linear(x))))


def _train_nnx(update, opt_state, steps=10):
    x, y = _data()
    graphdef, params, stats = nnx.split(_NnxNet(nnx.Rngs(0)), nnx.Param, nnx.BatchStat)

    @jax.jit
    def step(opt_state, params, stats):
        def loss(params, stats):
            model = nnx.merge(graphdef, params, stats, copy=True)
            value = _mse(model(x), y)
            return value, nnx.state(model, nnx.BatchStat)  # train mode updates the statistics

        (_, stats), grads = jax.value_and_grad(loss, has_aux=True)(params, stats)
        opt_state, params = update(opt_state, params, grads)
        return opt_state, params, stats

    for _ in range(steps):
        opt_state, params, stats = step(opt_state, params, stats)
    return opt_state, params, stats


def test_flax_nnx_params_with_batch_norm():
    def optax_update(state, params, grads):
        updates, state = tx.update(grads, state, params)
        return state, optax.apply_updates(params, updates)

    tx = f32(optax.adam, 0.01)
    params0 = nnx.split(_NnxNet(nnx.Rngs(0)), nnx.Param, ...)[1]
    _, expected, expected_stats = _train_nnx(optax_update, tx.init(params0))
    for opt in (flr.optim.Adam(0.01), from_optax(f32(optax.adam, 0.01))):
        opt, params, stats = _train_nnx(lambda o, p, g: (o, o(p, g)), opt)
        assert_trees_close(params, expected)
        assert_trees_close(stats, expected_stats)
    assert all("norm.mean" not in k and "norm.var" not in k for k in opt._specs.items)
    assert any(k.startswith("norm.scale") for k in opt._specs.items)


# -- Equinox: static fields and non-array leaves are left alone ----------------------


class _EqxNet(eqx.Module):
    mlp: eqx.nn.MLP  # its activations are function leaves
    scale: float  # a Python number leaf: not a parameter
    calls: jax.Array  # an integer array: not a parameter
    name: str = eqx.field(static=True)

    def __call__(self, x):
        return self.scale * self.mlp(x)


def _eqx_net():
    mlp = eqx.nn.MLP(3, 1, 8, 2, activation=jax.nn.tanh, key=jax.random.key(0))
    return _EqxNet(mlp, 0.5, jnp.zeros((), jnp.int32), "net")


@eqx.filter_jit
@eqx.filter_grad
def _eqx_grads(model, x, y):
    return _mse(jax.vmap(model)(x), y)


def test_equinox_filter_grad_and_filter_jit():
    x, y = _data()
    tx = f32(optax.adam, 0.01)
    expected = _eqx_net()
    state = tx.init(eqx.filter(expected, eqx.is_inexact_array))
    update = jax.jit(tx.update)
    for _ in range(10):
        grads = _eqx_grads(expected, x, y)
        updates, state = update(grads, state, eqx.filter(expected, eqx.is_inexact_array))
        expected = eqx.apply_updates(expected, updates)

    for opt in (flr.optim.Adam(0.01), from_optax(f32(optax.adam, 0.01))):
        model = _eqx_net()
        opt.init(model)
        for _ in range(10):
            model = opt(model, _eqx_grads(model, x, y))  # the optimizer's own compiled step
        arrays = eqx.filter(model, eqx.is_inexact_array)
        assert_trees_close(arrays, eqx.filter(expected, eqx.is_inexact_array))
        assert model.scale == 0.5 and model.name == "net" and model.calls.dtype == jnp.int32
        assert model.mlp.activation is jax.nn.tanh


def test_equinox_optimizer_inside_filter_jit():
    x, y = _data()

    @eqx.filter_jit
    def step(opt, model, x, y):
        return opt, opt(model, eqx.filter_grad(lambda m: _mse(jax.vmap(m)(x), y))(model))

    opt, model = flr.optim.Adam(0.01), _eqx_net()
    for _ in range(3):
        opt, model = step(opt, model, x, y)
    assert int(opt.t) == 3 and model.name == "net"


# -- plain containers and registered dataclasses -------------------------------------


@functools.partial(jax.tree_util.register_dataclass, data_fields=["w", "b"], meta_fields=["act"])
@dataclasses.dataclass
class Layer:
    w: jax.Array
    b: jax.Array
    act: str


def _containers():
    r = np.random.default_rng(2)
    a = lambda *s: jnp.asarray(r.normal(size=s), jnp.float32)  # noqa: E731
    return {
        "layers": [Layer(a(3, 4), a(4), "tanh"), Layer(a(4, 1), a(1), "id")],
        "gain": (a(), a(2)),
    }


def _forward(model, x):
    for layer in model["layers"]:
        x = x @ layer.w + layer.b
        x = jnp.tanh(x) if layer.act == "tanh" else x
    return model["gain"][0] * x + model["gain"][1].sum()


def test_plain_containers_and_registered_dataclasses():
    x, y = _data()
    grad = jax.jit(jax.grad(lambda m: _mse(_forward(m, x), y)))
    tx = f32(optax.adam, 0.01)
    expected = _containers()
    state = tx.init(expected)
    update = jax.jit(tx.update)
    for _ in range(10):
        updates, state = update(grad(expected), state, expected)
        expected = optax.apply_updates(expected, updates)

    eager = flr.optim.Adam(0.01)
    jitted = jax.jit(lambda o, m: (o, o(m, grad(m))))
    model, (opt, jmodel) = _containers(), (flr.optim.Adam(0.01), _containers())
    for _ in range(10):
        model = eager(model, grad(model))
        opt, jmodel = jitted(opt, jmodel)
    for m in (model, jmodel):
        assert_trees_close(m, expected)
        assert [layer.act for layer in m["layers"]] == ["tanh", "id"]
        assert isinstance(m["layers"][0], Layer) and isinstance(m["gain"], tuple)
    assert "layers.0.w" in eager.m and "gain.1" in eager.m
