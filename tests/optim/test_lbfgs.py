"""L-BFGS against optax.lbfgs, driven as its docs say (value, grad, value_fn).

Tolerance: the zoom line search branches on float comparisons of loss values,
so one ulp of difference in a loss (the same loss compiled in two different
programs may fuse differently, and op-by-op evaluation rounds differently
again) can select another trial step, and Rosenbrock's curved valley amplifies
it. We allow rtol 1e-4 on the trajectories; with the loss compiled as in the
reference they agree to the last bit here.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close

import flarejax as flr

RTOL, ATOL = 1e-4, 1e-6


def rosenbrock(p):
    x = jnp.concatenate([p["a"], p["b"]])
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


ROSEN_START = {"a": jnp.array([-1.2, 1.0, -1.2]), "b": jnp.array([1.0, 0.5])}

_r = np.random.default_rng(0)
_Q = np.linalg.qr(_r.normal(size=(6, 6)))[0]
H = jnp.asarray(_Q @ np.diag(np.geomspace(1.0, 100.0, 6)) @ _Q.T, jnp.float32)
C = jnp.asarray(_r.normal(size=6), jnp.float32)


def quadratic(p, h=H, c=C):
    x = jnp.concatenate([p["w"].ravel(), p["v"]])
    return 0.5 * x @ h @ x - c @ x


QUAD_START = {"w": jnp.ones((2, 2)), "v": jnp.zeros(2)}


def optax_trajectory(tx, f, params, steps, **fn_args):
    state = tx.init(params)

    @jax.jit
    def step(params, state, fn_args):
        value, grad = jax.value_and_grad(f)(params, **fn_args)
        updates, state = tx.update(
            grad, state, params, value=value, grad=grad, value_fn=f, **fn_args
        )
        return optax.apply_updates(params, updates), state

    out = []
    for _ in range(steps):
        params, state = step(params, state, fn_args)
        out.append(params)
    return out


def flarejax_trajectory(make_opt, f, params, steps, mode):
    opt = make_opt()
    if mode == "init":
        opt.init(params)
    # Eagerly too, the loss is computed by a compiled function, as in the reference.
    value_and_grad = (
        jax.value_and_grad(f) if mode in ("jit", "init") else jax.jit(jax.value_and_grad(f))
    )

    def step(opt, params):
        if mode == "minimize":
            return opt, opt.minimize(f, params)[0]
        value, grad = value_and_grad(params)
        return opt, opt(params, grad, loss=value, loss_fn=f)

    step = jax.jit(step) if mode in ("jit", "init") else step
    out = []
    for _ in range(steps):
        opt, params = step(opt, params)
        out.append(params)
    return out, opt


def assert_trajectories_close(actual, expected):
    assert len(actual) == len(expected)
    for t, (a, e) in enumerate(zip(actual, expected)):
        try:
            assert_trees_close(a, e, RTOL, ATOL)
        except AssertionError as err:
            raise AssertionError(f"step {t + 1}: {err}") from None


# Modes: eager here, "init" (then jit) for the quadratic, plain jit without a
# line search, and minimize (eagerly, after init) with extra arguments.
def test_lbfgs_rosenbrock_matches_optax():
    expected = optax_trajectory(optax.lbfgs(), rosenbrock, ROSEN_START, 30)
    actual, opt = flarejax_trajectory(flr.optim.LBFGS, rosenbrock, ROSEN_START, 30, "eager")
    assert_trajectories_close(actual, expected)
    assert float(rosenbrock(actual[-1])) < 1e-2 * float(rosenbrock(ROSEN_START))
    assert int(opt.t) == 30 and 0 < int(opt.linesearch_steps) <= 20


def test_lbfgs_quadratic_options_match_optax():
    # memory_size=3 wraps the ring buffer; "keep" starts from the last step size;
    # 3 trial steps with curv_rtol=0.1 often fail (the best safe step is taken);
    # max_learning_rate=0.8 is reached.
    kw = {"memory_size": 3, "scale_init_precond": False}
    ls = {
        "max_linesearch_steps": 3,
        "initial_guess_strategy": "keep",
        "curv_rtol": 0.1,
        "max_learning_rate": 0.8,
        "approx_dec_rtol": None,
        "increase_factor": 3.0,
        "tol": 1e-7,
        "stepsize_precision": 1e-3,
    }
    tx = optax.lbfgs(0.5, **kw, linesearch=optax.scale_by_zoom_linesearch(**ls))
    expected = optax_trajectory(tx, quadratic, QUAD_START, 25)
    actual, _ = flarejax_trajectory(
        lambda: flr.optim.LBFGS(0.5, **kw, **ls), quadratic, QUAD_START, 25, "init"
    )
    assert_trajectories_close(actual, expected)
    x_star = jnp.linalg.solve(H, C)
    np.testing.assert_allclose(actual[-1]["v"], x_star[4:], rtol=1e-3, atol=1e-4)


def test_lbfgs_without_linesearch_matches_optax():
    # No line search: no loss needed; the step is -learning_rate * H g. Plain
    # jit mode (state built lazily inside the user's jit) is checked here.
    tx = optax.lbfgs(0.1, linesearch=None)

    @jax.jit
    def step(opt, model, params, state):
        updates, state = tx.update(jax.grad(quadratic)(params), state, params)
        return (
            opt,
            opt(model, jax.grad(quadratic)(model)),
            optax.apply_updates(params, updates),
            state,
        )

    opt, model, params, state = (
        flr.optim.LBFGS(0.1, linesearch=None),
        QUAD_START,
        QUAD_START,
        tx.init(QUAD_START),
    )
    for _ in range(20):
        opt, model, params, state = step(opt, model, params, state)
        assert_trees_close(model, params, RTOL, ATOL)


def test_lbfgs_minimize_forwards_args_and_aux():
    # Data reaches the loss as positional arguments (optax: by keyword to value_fn).
    h2, c2 = 2.0 * H, -C

    def loss_fn(model, h, c):
        return quadratic(model["params"], h, c), model["name"]

    expected = optax_trajectory(
        optax.lbfgs(), lambda p, h, c: quadratic(p, h, c), QUAD_START, 20, h=h2, c=c2
    )
    opt = flr.optim.LBFGS()
    model = {"params": QUAD_START, "name": "quad", "steps": jnp.zeros((), jnp.int32)}
    opt.init(model)  # one compiled step instead of two (lazy state, then built state)
    actual = []
    for _ in range(20):
        model, (_, aux) = opt.minimize(loss_fn, model, h2, c2, has_aux=True)
        assert aux == "quad"
        actual.append(model["params"])
    assert_trajectories_close(actual, expected)
    assert model["steps"].dtype == jnp.int32 and int(opt.t) == 20
    assert opt.s["params.w"].shape == (10, 2, 2) and opt.rho.shape == (10,)


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({}, "loss and loss_fn missing"),
        ({"loss": 1.0}, "loss_fn missing"),
        ({"loss_fn": quadratic}, "loss missing"),
    ],
)
def test_lbfgs_without_loss_is_an_error(kwargs, missing):
    opt = flr.optim.LBFGS()
    grads = jax.grad(quadratic)(QUAD_START)
    with pytest.raises(ValueError, match=rf"needs loss= .* and loss_fn= .*; {missing}"):
        opt(QUAD_START, grads, **kwargs)
    assert int(opt.t) == 0


# -- optax's names: value_fn= natively, and through to_optax --------------------------


def test_lbfgs_to_optax_matches_optax():
    """Driven as optax.lbfgs is (value=, grad=, value_fn=), with and without line search."""
    for make, tx, f, start in (
        (flr.optim.LBFGS, optax.lbfgs(), rosenbrock, ROSEN_START),
        (
            lambda: flr.optim.LBFGS(0.1, linesearch=None),
            optax.lbfgs(0.1, linesearch=None),
            quadratic,
            QUAD_START,
        ),
    ):
        expected = optax_trajectory(tx, f, start, 20)
        actual = optax_trajectory(flr.optim.to_optax(make()), f, start, 20)
        assert_trajectories_close(actual, expected)


def test_lbfgs_takes_value_fn_for_loss_fn():
    expected = optax_trajectory(optax.lbfgs(), rosenbrock, ROSEN_START, 10)
    opt, params, actual = flr.optim.LBFGS(), ROSEN_START, []
    value_and_grad = jax.jit(jax.value_and_grad(rosenbrock))
    for _ in range(10):
        value, grad = value_and_grad(params)
        params = opt(params, grad, loss=value, value_fn=rosenbrock)
        actual.append(params)
    assert_trajectories_close(actual, expected)
    with pytest.raises(TypeError, match="both loss_fn= and value_fn="):
        opt(params, grad, loss=value, loss_fn=rosenbrock, value_fn=quadratic)


def test_from_optax_lbfgs_takes_loss_fn_and_round_trips_value_fn():
    """loss_fn= reaches optax as value_fn=; and back through to_optax(from_optax(...))."""
    expected = optax_trajectory(optax.lbfgs(), rosenbrock, ROSEN_START, 10)
    actual, _ = flarejax_trajectory(
        lambda: flr.optim.from_optax(optax.lbfgs()), rosenbrock, ROSEN_START, 10, "jit"
    )
    assert_trajectories_close(actual, expected)
    bridged = flr.optim.to_optax(flr.optim.from_optax(optax.lbfgs()))
    assert_trajectories_close(optax_trajectory(bridged, rosenbrock, ROSEN_START, 10), expected)
