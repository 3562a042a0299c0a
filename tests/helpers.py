"""Shared test machinery: random models, gradient streams, and parity runs.

``run_flarejax`` and ``run_optax`` drive an optimizer over the same stream of
gradients (the gradient of a random quadratic at the current parameters plus
noise, so the trajectory depends on the parameters) and return the parameters;
``check_parity`` runs a flarejax optimizer eagerly, under ``jax.jit`` and under
``jax.jit`` after ``init``, and compares each with the reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import flarejax as flr


class Pair(NamedTuple):
    kernel: Any
    bias: Any


def models(dtype: Any = jnp.float32) -> dict[str, Any]:
    """A few PyTree structures with several shapes (scalars included)."""
    r = np.random.default_rng(0)

    def a(*shape: int) -> jax.Array:
        return jnp.asarray(r.normal(size=shape), dtype)

    return {
        "flat": {"w": a(5, 3), "b": a(3)},
        "nested": {"enc": [Pair(a(4, 4), a(4)), Pair(a(4, 2), a(2))], "scale": a()},
        "matrix": a(8, 16),
    }


@functools.lru_cache(maxsize=256)
def _problem(seed: int, i: int, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    r = np.random.default_rng([seed, i])
    target = r.normal(size=shape)
    c = r.uniform(0.5, 2.0, size=shape)
    noise = r.normal(scale=0.3, size=(MAX_STEPS, *shape))
    return target, c, noise


MAX_STEPS = 400


def quadratic_grads(params: Any, step: int, seed: int = 0) -> Any:
    """Gradient of sum(c * (p - target)**2) at ``params`` plus step-dependent noise."""
    leaves, treedef = jax.tree_util.tree_flatten(params)
    out = []
    for i, p in enumerate(leaves):
        target, c, noise = _problem(seed, i, tuple(p.shape))
        g = 2 * c * (np.asarray(p, np.float64) - target) + noise[step % MAX_STEPS]
        out.append(jnp.asarray(g, p.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def run_optax(
    tx: optax.GradientTransformation,
    params: Any,
    steps: int,
    grads_fn: Callable[[Any, int], Any] = quadratic_grads,
    extra_args_fn: Callable[[Any, int], dict[str, Any]] | None = None,
) -> Any:
    state = tx.init(params)
    update = jax.jit(lambda g, s, p, kw: tx.update(g, s, p, **kw))
    for step in range(steps):
        grads = grads_fn(params, step)
        kw = extra_args_fn(params, step) if extra_args_fn else {}
        updates, state = update(grads, state, params, kw)
        params = optax.apply_updates(params, updates)
    return params


def run_flarejax(
    make_opt: Callable[[], flr.optim.Optimizer],
    params: Any,
    steps: int,
    mode: str = "eager",
    grads_fn: Callable[[Any, int], Any] = quadratic_grads,
    extras_fn: Callable[[Any, int], dict[str, Any]] | None = None,
) -> tuple[Any, flr.optim.Optimizer]:
    """Run ``steps`` steps; ``mode`` is "eager", "jit" or "init" (init, then jit)."""
    opt = make_opt()
    if mode == "init":
        opt.init(params, **(extras_fn(params, 0) if extras_fn else {}))
    step_fn = (
        (lambda o, p, g, kw: (o, o(p, g, **kw)))
        if mode == "eager"
        else jax.jit(lambda o, p, g, kw: (o, o(p, g, **kw)))
    )
    for step in range(steps):
        grads = grads_fn(params, step)
        kw = extras_fn(params, step) if extras_fn else {}
        opt, params = step_fn(opt, params, grads, kw)
    return params, opt


def assert_trees_close(actual: Any, expected: Any, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    ka = jax.tree_util.tree_flatten_with_path(actual)[0]
    kb = jax.tree_util.tree_flatten_with_path(expected)[0]
    assert [p for p, _ in ka] == [p for p, _ in kb], "structures differ"
    for (path, a), (_, b) in zip(ka, kb):
        np.testing.assert_allclose(
            np.asarray(a, np.float64),
            np.asarray(b, np.float64),
            rtol=rtol,
            atol=atol,
            err_msg=f"at {jax.tree_util.keystr(path)}",
        )


def check_parity(
    make_opt: Callable[[], flr.optim.Optimizer],
    tx: optax.GradientTransformation,
    steps: int = 50,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    modes: tuple[str, ...] = ("eager", "jit", "init"),
    model_names: tuple[str, ...] = ("flat", "nested", "matrix"),
    dtype: Any = jnp.float32,
) -> None:
    """flarejax == optax over ``steps`` steps on each model, in each mode.

    flarejax stores float hyperparameters as float32 arrays (so that changing one
    does not recompile); plain optax folds constants such as ``1 - b2`` in
    float64 at trace time, a 5e-5 relative difference in ``1 - 0.999``. The
    like-for-like reference is therefore ``optax.inject_hyperparams(optax.adam)(...)``,
    which also keeps its hyperparameters as float32 arrays: see ``f32``.
    """
    ms = models(dtype)
    for name in model_names:
        expected = run_optax(tx, ms[name], steps)
        for mode in modes:
            actual, _ = run_flarejax(make_opt, ms[name], steps, mode)
            try:
                assert_trees_close(actual, expected, rtol, atol)
            except AssertionError as e:
                raise AssertionError(f"model {name!r}, mode {mode!r}: {e}") from None


def f32(factory: Callable[..., optax.GradientTransformation], *args: Any, **kwargs: Any) -> Any:
    """``factory(*args, **kwargs)`` with its float hyperparameters held as float32 arrays."""
    return optax.inject_hyperparams(factory)(*args, **kwargs)
