"""flax.nnx models as first-class models: keys, parameters, in-place updates, parity.

References are ``nnx.Optimizer`` with optax, never flarejax itself.
"""

from __future__ import annotations

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr
from flarejax._tree import flat_keys
from flarejax.optim import (
    SGD,
    AdamW,
    AddDecayedWeights,
    Chain,
    Freeze,
    Lion,
    Masked,
    Partition,
)

# nnx modules are JAX pytrees since flax 0.12.
pytest.importorskip("flax", minversion="0.12")
nnx = pytest.importorskip("flax.nnx")


class Net(nnx.Module):
    """Linear - BatchNorm - Dropout - Linear, the model of the guide.

    The first Linear has no bias: BatchNorm removes it, so its gradient is zero
    up to rounding, which Adam would amplify into noise that no two
    implementations share.
    """

    def __init__(self, rngs: nnx.Rngs) -> None:
        self.l1 = nnx.Linear(3, 8, use_bias=False, rngs=rngs)
        self.bn = nnx.BatchNorm(8, rngs=rngs)
        self.drop = nnx.Dropout(0.2, rngs=rngs)
        self.l2 = nnx.Linear(8, 2, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.l2(self.drop(nnx.relu(self.bn(self.l1(x)))))


def loss_fn(model: Net, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((model(x) - y) ** 2)


X = jax.random.normal(jax.random.key(1), (16, 3))
Y = jax.random.normal(jax.random.key(2), (16, 2))
PARAM_KEYS = ["bn.bias", "bn.scale", "l1.kernel", "l2.bias", "l2.kernel"]


def make() -> Net:
    return Net(nnx.Rngs(0, dropout=1))


def arrays(model: nnx.Module) -> dict[str, np.ndarray]:
    """Every numeric array of the model by key (RNG keys as their data)."""
    keys, leaves, _ = flat_keys(model)
    out = {}
    for k, x in zip(keys, leaves):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out[k] = np.asarray(x)
    return out


def assert_close(a: dict, b: dict, **tol: float) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], err_msg=k, **tol)


# -- keys ------------------------------------------------------------------------


def test_keys_of_nnx_variables_have_no_value_suffix():
    keys = flat_keys(make())[0]
    assert "l1.kernel" in keys and "bn.mean" in keys and "drop.rngs.count" in keys
    assert not any(k.endswith(".value") for k in keys)


def test_state_keys_and_state_dict_names_use_the_variable_keys():
    model = make()
    opt = AdamW(1e-2)
    opt(model, nnx.grad(loss_fn)(model, X, Y))
    assert sorted(opt.m) == PARAM_KEYS
    assert "m/l1.kernel" in opt.state_dict()
    assert "l1.kernel" in opt.summary(model)
    # Batch statistics and RNG state are not parameter bytes: Adam's state is twice these.
    assert flr.optim.state_ratio(opt, model) == pytest.approx(2.0, abs=0.05)


def test_nnx_state_gradients_match_by_key():
    # A gradient State keyed "l1.kernel" meets a Module keyed "l1.kernel".
    grads = nnx.grad(loss_fn)(make(), X, Y)
    assert sorted(flat_keys(grads)[0]) == PARAM_KEYS
    # So does the pure dict of that State (no entries for the batch statistics).
    a, b = make(), make()
    SGD(0.1)(a, grads)
    SGD(0.1)(b, nnx.to_pure_dict(grads))
    assert_close(arrays(a), arrays(b), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"grads has a leaf at 'l3\.kernel'"):
        SGD(0.1)(b, {**nnx.to_pure_dict(grads), "l3": {"kernel": jnp.ones(2)}})


# -- patterns select what the user wrote ---------------------------------------------


def _moved(before: dict, after: dict) -> set[str]:
    return {k for k in before if not np.array_equal(before[k], after[k])}


@pytest.mark.parametrize(
    ("opt", "moved"),
    [
        (
            lambda: Partition({"*bias": SGD(0.0)}, default=SGD(0.1)),
            {"bn.scale", "l1.kernel", "l2.kernel"},
        ),
        (
            lambda: Chain(Masked(SGD(0.1), "*kernel"), Freeze("re:.*(bias|scale)")),
            {"l1.kernel", "l2.kernel"},
        ),
        (lambda: Chain(Freeze("*bias"), SGD(0.1)), {"bn.scale", "l1.kernel", "l2.kernel"}),
    ],
)
def test_patterns_select_nnx_parameters(opt, moved):
    model = make()
    grads = nnx.grad(loss_fn)(model, X, Y)
    before = arrays(model)
    opt()(model, grads)
    assert _moved(before, arrays(model)) == moved


@pytest.mark.parametrize(
    "opt",
    [
        lambda wd, mask: Chain(AddDecayedWeights(wd, mask=mask), SGD(0.1)),
        lambda wd, mask: Lion(0.1, weight_decay=wd, mask=mask),
        lambda wd, mask: flr.optim.AdamaxW(0.1, weight_decay=wd, mask=mask),
    ],
)
def test_weight_decay_masks_select_nnx_parameters(opt):
    # Decay on "l2.kernel" only: the only key where the result differs from no decay.
    grads = nnx.grad(loss_fn)(make(), X, Y)
    decayed, plain = make(), make()
    opt(0.5, "l2.kernel")(decayed, grads)
    opt(0.0, "l2.kernel")(plain, grads)
    assert _moved(arrays(plain), arrays(decayed)) == {"l2.kernel"}


# -- patterns that match nothing --------------------------------------------------------


@pytest.mark.parametrize(
    ("opt", "shown"),
    [
        (lambda: Partition({"*bias": SGD(0.1), "*gamma": SGD(0.1)}), "'\\*gamma'"),
        (lambda: Partition({"*": SGD(0.1), "*gamma": SGD(0.1)}), "'\\*gamma'"),
        (lambda: Masked(SGD(0.1), "*.w"), "'\\*.w'"),
        (lambda: Chain(Freeze("encoder.*"), SGD(0.1)), "'encoder.\\*'"),
        (lambda: Lion(0.1, mask="*kernel.value"), "'\\*kernel.value'"),
    ],
)
@pytest.mark.parametrize("jit", [False, True])
def test_a_pattern_matching_no_parameter_raises(opt, shown, jit):
    model = make()
    grads = nnx.grad(loss_fn)(model, X, Y)
    before = arrays(model)
    o = opt()
    step = jax.jit(lambda o, m, g: (o, o(m, g))) if jit else (lambda o, m, g: o(m, g))
    with pytest.raises(ValueError, match=f"{shown} matches no parameter of the model.*l1.kernel"):
        step(o, model, grads)
    assert_close(before, arrays(model), rtol=0, atol=0)
    if "value" in shown:
        with pytest.raises(ValueError, match=r"no '\.value' suffix"):
            o(model, grads)


def test_no_match_check_covers_plain_models_and_init():
    params = {"w": jnp.ones(3), "b": jnp.zeros(3)}
    with pytest.raises(ValueError, match=r"mask: pattern 'k' matches no parameter.*'w'"):
        AddDecayedWeights(0.1, mask="k")(params, params)
    with pytest.raises(ValueError, match="'x' matches no parameter"):
        Masked(SGD(0.1), "x").init(params)


def test_a_model_without_parameters_has_nothing_to_match():
    model = {"n": jnp.arange(3)}
    out = Masked(SGD(0.1), "x")(model, {"n": None})
    np.testing.assert_array_equal(out["n"], model["n"])


def test_members_of_combinators_see_the_whole_model():
    # "*kernel" matches nothing of the bias group, but does match the model.
    model = make()
    opt = Partition(
        {"*bias": Masked(AddDecayedWeights(0.1), "*kernel"), "*": SGD(0.1)},
    )
    opt(model, nnx.grad(loss_fn)(model, X, Y))


# -- which variables are parameters --------------------------------------------------


def test_only_params_are_updated_even_with_gradients_for_everything():
    model = make()
    # A gradient (of ones) for every float leaf, batch statistics included.
    full = jax.tree.map(
        lambda x: jnp.ones_like(x) if jnp.issubdtype(x.dtype, jnp.floating) else None, model
    )
    before = arrays(model)
    AdamW(0.1, weight_decay=0.5)(model, full)
    assert _moved(before, arrays(model)) == set(PARAM_KEYS)


def test_wrt_nnx_filter_and_key_pattern():
    model = make()
    grads = nnx.grad(loss_fn)(model, X, Y)
    before = arrays(model)
    SGD(0.1)(model, grads, wrt=nnx.All(nnx.Param, nnx.PathContains("l2")))
    assert _moved(before, arrays(model)) == {"l2.bias", "l2.kernel"}
    before = arrays(model)
    SGD(0.1)(model, grads, wrt="l1.*")
    assert _moved(before, arrays(model)) == {"l1.kernel"}


def test_wrt_on_plain_models_and_bad_wrt():
    params = {"w": jnp.ones(3), "b": jnp.zeros(3)}
    out = SGD(1.0)(params, {"w": jnp.ones(3), "b": jnp.ones(3)}, wrt="w")
    np.testing.assert_array_equal(out["w"], 0.0)
    np.testing.assert_array_equal(out["b"], 0.0 * params["b"])
    with pytest.raises(ValueError, match="wrt: pattern 'kk' matches no parameter"):
        SGD(1.0)(params, params, wrt="kk")
    with pytest.raises(ValueError, match=r"is an nnx filter, but the model holds no flax\.nnx"):
        SGD(1.0)(params, params, wrt=nnx.Param)
    with pytest.raises(TypeError, match=r"OptaxOptimizer\.__call__ takes no wrt="):
        flr.optim.from_optax(optax.sgd(1.0))(params, params, wrt="w")


def test_init_builds_state_for_the_params_or_wrt_only():
    model = make()
    before = arrays(model)
    opt = AdamW(0.1)
    opt.init(model)
    assert sorted(opt.m) == PARAM_KEYS
    opt = AdamW(0.1)
    opt.init(model, wrt="l2.*")
    assert sorted(opt.m) == ["l2.bias", "l2.kernel"]
    assert_close(before, arrays(model), rtol=0, atol=0)  # AdamW's decay moved nothing


def test_wrt_batch_stat_selects_it_explicitly():
    model = make()
    full = jax.tree.map(
        lambda x: jnp.ones_like(x) if jnp.issubdtype(x.dtype, jnp.floating) else None, model
    )
    before = arrays(model)
    SGD(0.1)(model, full, wrt=nnx.BatchStat)
    assert _moved(before, arrays(model)) == {"bn.mean", "bn.var"}


# -- in place ----------------------------------------------------------------------------


def test_call_updates_the_module_in_place_and_returns_it():
    model = make()
    kernel = model.l1.kernel
    grads = nnx.grad(loss_fn)(model, X, Y)
    before = arrays(model)
    out = SGD(0.1)(model, grads)
    assert out is model and model.l1.kernel is kernel  # the same objects, new values
    np.testing.assert_allclose(
        arrays(model)["l1.kernel"],
        before["l1.kernel"] - 0.1 * np.asarray(grads["l1"]["kernel"][...]),
        rtol=1e-6,
    )


def test_plain_models_are_not_modified():
    params = {"w": jnp.ones(3)}
    out = SGD(1.0)(params, {"w": jnp.ones(3)})
    np.testing.assert_array_equal(params["w"], 1.0)
    np.testing.assert_array_equal(out["w"], 0.0)


def test_an_nnx_state_as_the_model_is_not_modified():
    # The functional nnx style: a State of the parameters in, a new State out.
    model = make()
    _, params, _ = nnx.split(model, nnx.Param, ...)
    grads = nnx.grad(loss_fn)(model, X, Y)
    before = arrays(params)
    new = SGD(0.1)(params, grads)
    assert_close(before, arrays(params), rtol=0, atol=0)
    g = np.asarray(grads["l1"]["kernel"][...])
    np.testing.assert_allclose(arrays(new)["l1.kernel"], before["l1.kernel"] - 0.1 * g, rtol=1e-6)


def test_to_optax_inside_nnx_optimizer_sees_nnx_keys():
    model = make()
    grads = nnx.grad(loss_fn)(model, X, Y)  # (this forward pass updates the batch stats)
    before = arrays(model)
    tx = Chain(Freeze(["*bias", "*scale"]), SGD(0.1)).to_optax()
    nnx.Optimizer(model, tx, wrt=nnx.Param).update(model, grads)
    assert _moved(before, arrays(model)) == {"l1.kernel", "l2.kernel"}


def test_a_failing_step_changes_neither_model_nor_optimizer():
    model = make()
    opt = AdamW(0.1)
    grads = nnx.grad(loss_fn)(model, X, Y)
    opt(model, grads)
    before, state = arrays(model), opt.state_dict()
    bad = jax.tree.map(lambda g: g[..., :1], grads)
    with pytest.raises(ValueError, match="shape"):
        opt(model, bad)
    assert_close(before, arrays(model), rtol=0, atol=0)
    assert opt.state_dict().keys() == state.keys()


# -- parity with nnx.Optimizer ---------------------------------------------------------


def _reference(steps: int) -> Net:
    model = make()
    opt = nnx.Optimizer(model, optax.adamw(1e-2, weight_decay=0.1), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt):
        loss, grads = nnx.value_and_grad(loss_fn)(model, X, Y)
        opt.update(model, grads)
        return loss

    for _ in range(steps):
        step(model, opt)
    return model


@pytest.fixture(scope="module")
def reference():
    return arrays(_reference(20))


def _eager(model, opt):
    for _ in range(20):
        opt.minimize(loss_fn, model, X, Y)
    return model


def _eager_call(model, opt):
    for _ in range(20):
        opt(model, nnx.grad(loss_fn)(model, X, Y))
    return model


def _nnx_jit(model, opt):
    @nnx.jit
    def step(model, opt):
        _, loss = opt.minimize(loss_fn, model, X, Y)
        return opt, loss

    for _ in range(20):
        opt, _ = step(model, opt)
    return model


def _jax_jit(model, opt):
    @jax.jit
    def step(model, opt):
        model, loss = opt.minimize(loss_fn, model, X, Y)
        return model, opt, loss

    for _ in range(20):
        model, opt, _ = step(model, opt)
    return model


@pytest.mark.parametrize("run", [_eager, _eager_call, _nnx_jit, _jax_jit])
def test_parity_with_nnx_optimizer(reference, run):
    model = make()
    out = run(model, AdamW(1e-2, weight_decay=0.1))
    got = arrays(out)
    # Parameters, batch statistics and the RNG count (dropout drew the same masks).
    assert_close(got, reference, rtol=2e-5, atol=2e-6)
    assert not np.array_equal(got["bn.mean"], 0.0)
    if run is not _jax_jit:
        assert_close(arrays(model), reference, rtol=2e-5, atol=2e-6)  # in place


def test_minimize_keeps_batch_statistics_and_rng_counts():
    model = make()
    before = arrays(model)
    SGD(0.0).minimize(loss_fn, model, X, Y)
    assert _moved(before, arrays(model)) == {"bn.mean", "bn.var", "drop.rngs.count"}


# -- flax stays optional ------------------------------------------------------------


def test_flarejax_imports_and_steps_without_flax():
    code = (
        "import sys; sys.modules['flax'] = None\n"
        "import jax.numpy as jnp, flarejax as flr\n"
        "p = {'w': jnp.ones(2)}\n"
        "out = flr.optim.Masked(flr.optim.SGD(1.0), 'w')(p, p)\n"
        "assert float(out['w'][0]) == 0.0 and 'flax.nnx' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
