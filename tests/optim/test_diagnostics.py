"""Diagnostics: its norms against float64 NumPy on optax's updates; nothing when not wrapped."""

from __future__ import annotations

import collections
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flarejax.optim import SGD, Adam, Chain, ClipByGlobalNorm, Diagnostics

STEPS = 4


def start() -> dict[str, jax.Array]:
    r = np.random.default_rng(0)
    return {
        "w": jnp.asarray(r.normal(size=(4, 3)), jnp.float32),
        "b": jnp.zeros(3, jnp.float32),  # a zero parameter: its first ratio is infinite
    }


def grads_at(params: dict[str, jax.Array]) -> dict[str, jax.Array]:
    return {"w": 3 * params["w"] + 1.0, "b": params["b"] - 2.0}


def optax_steps() -> list[dict[str, Any]]:
    """float64 NumPy norms of the gradients, of optax's updates and of the parameters."""
    # Hyperparameters as float32 arrays, as flarejax holds them: the same float32 updates.
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adam)(0.1))
    params = start()
    state = tx.init(params)
    out = []
    for _ in range(STEPS):
        g = grads_at(params)
        u, state = tx.update(g, state, params)
        g64 = {k: np.asarray(v, np.float64) for k, v in g.items()}
        u64 = {k: np.asarray(v, np.float64) for k, v in u.items()}
        p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}
        norm = np.linalg.norm
        out.append(
            {
                "grad_norm": np.sqrt(sum(norm(v) ** 2 for v in g64.values())),
                "update_norm": np.sqrt(sum(norm(v) ** 2 for v in u64.values())),
                **{f"ratio/{k}": norm(u64[k]) / norm(p64[k]) for k in sorted(u64)},
            }
        )
        params = optax.apply_updates(params, u)
    return out


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_stats_match_float64_norms_of_optax_updates(jit: bool) -> None:
    opt = Diagnostics(Chain(ClipByGlobalNorm(1.0), Adam(0.1)))
    model = start()

    def step(o: Any, m: Any) -> tuple[Any, Any, dict[str, jax.Array]]:
        m = o(m, grads_at(m))
        return o, m, o.stats()

    run = jax.jit(step) if jit else step
    with np.errstate(divide="ignore"):
        expected = optax_steps()
    for want in expected:
        opt, model, got = run(opt, model)
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k].dtype == jnp.float32
            # float32 sums of squares of the same float32 updates.
            np.testing.assert_allclose(float(got[k]), v, rtol=2e-6, err_msg=k)
    # The clip's own measure is the same gradient norm.
    np.testing.assert_allclose(float(opt.opt.opts[0].norm), expected[-1]["grad_norm"], 2e-6)


def test_bfloat16_norms_are_summed_in_float32() -> None:
    opt = Diagnostics(SGD(1.0))
    g = {"w": jnp.full((4096,), 1.0, jnp.bfloat16)}
    opt({"w": jnp.ones(4096, jnp.bfloat16)}, g)
    assert float(opt.grad_norm) == 64.0 and float(opt.ratio["w"]) == 1.0


def op_counts(opt: Any) -> collections.Counter[str]:
    model = start()

    def step(o: Any, m: Any) -> tuple[Any, Any]:
        return o, o(m, grads_at(m))

    text = jax.jit(step).lower(opt, model).as_text()
    return collections.Counter(re.findall(r"= (?:\"?)(stablehlo\.\w+|mhlo\.\w+)", text))


def test_an_unwrapped_step_computes_nothing_extra() -> None:
    plain, measured = op_counts(SGD(0.1)), op_counts(Diagnostics(SGD(0.1)))
    assert plain["stablehlo.sqrt"] == 0 and plain["stablehlo.reduce"] == 0
    # Two global norms and one ratio per parameter: only reductions and square roots added.
    assert measured["stablehlo.sqrt"] == 2 + 2
    assert all(measured[op] >= n for op, n in plain.items())
    assert op_counts(Diagnostics(SGD(0.1), ratios=False))["stablehlo.sqrt"] == 2
