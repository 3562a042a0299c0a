"""Measurements that are not a time per step: compilations, compiled memory, bandwidth.

Compilations are counted as traces: every jitted function below increments a
counter in Python, which runs once per trace (and so once per compilation).
flarejax's eager path compiles inside ``flarejax._core.eager._run``, whose cache
size is read before and after the steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from _models import LR, eqx_mlp, grads_like, mlp_batch, mlp_loss, mlp_params, nnx_mlp
from _peers import need

__all__ = ["COUNT_PEERS", "HLO_PEERS", "SCENARIOS", "copy_steps", "hlo_counts", "memory_analysis"]

# scenario -> (call opt.init before the first step, change the learning rate every step)
SCENARIOS = {"cold": (False, False), "after init": (True, False), "lr every step": (True, True)}


def _lr(i: int, steps: int) -> float:
    return LR * (1.0 + i / steps)


def _optax_tx(lr_changes: bool) -> Any:
    optax = need("optax")
    if lr_changes:
        return optax.inject_hyperparams(optax.adam)(learning_rate=LR)
    return optax.adam(LR)


def _set_optax_lr(state: Any, lr: float) -> None:
    # The documented way: a float32 array of the same type, so nothing retraces.
    state.hyperparams["learning_rate"] = jnp.asarray(lr, jnp.float32)


def count_optax(init: bool, lr_changes: bool, steps: int) -> int:
    optax = need("optax")
    tx, count = _optax_tx(lr_changes), [0]

    @jax.jit
    def train(p: Any, s: Any, x: Any, y: Any) -> Any:
        count[0] += 1
        g = jax.grad(mlp_loss)(p, x, y)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    p, (x, y) = mlp_params(), mlp_batch()
    s = tx.init(p)  # optax has no lazy state: "cold" is "after init"
    for i in range(steps):
        if lr_changes:
            _set_optax_lr(s, _lr(i, steps))
        p, s = train(p, s, x, y)
    jax.block_until_ready(p)
    return count[0]


def count_nnx(init: bool, lr_changes: bool, steps: int) -> int:
    nnx = need("flax.nnx")
    model, loss_fn = nnx_mlp()
    optimizer = nnx.Optimizer(model, _optax_tx(lr_changes), wrt=nnx.Param)
    (x, y), count = mlp_batch(), [0]

    @nnx.jit
    def train(model: Any, optimizer: Any, x: Any, y: Any) -> Any:
        count[0] += 1
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    for i in range(steps):
        if lr_changes:
            optimizer.opt_state.hyperparams["learning_rate"][...] = _lr(i, steps)
        loss = train(model, optimizer, x, y)
    jax.block_until_ready(loss)
    return count[0]


def count_eqx(init: bool, lr_changes: bool, steps: int) -> int:
    eqx = need("equinox")
    tx, count = _optax_tx(lr_changes), [0]
    model, loss_fn = eqx_mlp()

    @eqx.filter_jit
    def train(model: Any, s: Any, x: Any, y: Any) -> Any:
        count[0] += 1
        g = eqx.filter_grad(loss_fn)(model, x, y)
        u, s = tx.update(g, s, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, u), s

    s = tx.init(eqx.filter(model, eqx.is_array))
    x, y = mlp_batch()
    for i in range(steps):
        if lr_changes:
            _set_optax_lr(s, _lr(i, steps))
        model, s = train(model, s, x, y)
    jax.block_until_ready(s)
    return count[0]


def count_flarejax_jit(init: bool, lr_changes: bool, steps: int) -> int:
    flr = need("flarejax")
    opt, p, (x, y), count = flr.optim.Adam(LR), mlp_params(), mlp_batch(), [0]

    @jax.jit
    def train(opt: Any, p: Any, x: Any, y: Any) -> Any:
        count[0] += 1
        g = jax.grad(mlp_loss)(p, x, y)
        return opt, opt(p, g)

    if init:
        opt.init(p)
    for i in range(steps):
        if lr_changes:
            opt.learning_rate = _lr(i, steps)  # a Python float, as a user writes it
        opt, p = train(opt, p, x, y)
    jax.block_until_ready(p)
    return count[0]


def _count_flarejax_eager(minimize: bool, init: bool, lr_changes: bool, steps: int) -> int:
    flr = need("flarejax")
    from flarejax._core.eager import _run

    opt, p, (x, y) = flr.optim.Adam(LR), mlp_params(), mlp_batch()
    g = grads_like(p)
    jax.clear_caches()  # compilations of earlier figures must not be reused
    if init:
        opt.init(p)
    cache_size = getattr(_run, "_cache_size")  # noqa: B009 (private jit API)
    before = cache_size()
    for i in range(steps):
        if lr_changes:
            opt.learning_rate = _lr(i, steps)
        if minimize:
            p, _ = opt.minimize(mlp_loss, p, x, y)
        else:
            p = opt(p, g)
    jax.block_until_ready(p)
    return int(cache_size() - before)


def _eager_counter(minimize: bool) -> Callable[[bool, bool, int], int]:
    return lambda init, lr, steps: _count_flarejax_eager(minimize, init, lr, steps)


COUNT_PEERS: dict[str, Callable[[bool, bool, int], int]] = {
    "optax jit": count_optax,
    "nnx.jit": count_nnx,
    "eqx.filter_jit": count_eqx,
    "flarejax jit": count_flarejax_jit,
    "flarejax eager opt(model, grads)": _eager_counter(minimize=False),
    "flarejax eager opt.minimize": _eager_counter(minimize=True),
}


# -- compiled memory ---------------------------------------------------------------------


def _analysis(f: Callable[..., Any], donate: tuple[int, ...], *args: Any) -> dict[str, int]:
    m = jax.jit(f, donate_argnums=donate).lower(*args).compile().memory_analysis()
    if m is None:
        raise RuntimeError("memory_analysis() is not available on this backend")
    out = {
        "temp": int(m.temp_size_in_bytes),
        "output": int(m.output_size_in_bytes),
        "alias": int(m.alias_size_in_bytes),
        "argument": int(m.argument_size_in_bytes),
    }
    out["temp+output"] = out["temp"] + out["output"]
    out["new (temp+output-alias)"] = out["temp+output"] - out["alias"]
    return out


def memory_analysis(peer: str, task: str, donate: bool) -> dict[str, int]:
    """Compiled memory of one jitted step: ``task`` is "mlp train" or "matrix update"."""
    optax = need("optax")
    flr = need("flarejax")
    dn = (0, 1) if donate else ()
    extra: tuple[Any, ...]
    if task == "mlp train":
        p, extra = mlp_params(), mlp_batch()
    else:
        p = {"w": jnp.zeros((4096, 4096), jnp.float32)}
        extra = (grads_like(p),)
    if peer == "optax jit":
        tx = optax.adam(LR)

        def step(p: Any, s: Any, *xs: Any) -> Any:
            g = jax.grad(mlp_loss)(p, *xs) if task == "mlp train" else xs[0]
            u, s = tx.update(g, s, p)
            return optax.apply_updates(p, u), s

        return _analysis(step, dn, p, tx.init(p), *extra)
    opt = flr.optim.Adam(LR)
    opt.init(p)

    def fstep(opt: Any, p: Any, *xs: Any) -> Any:
        g = jax.grad(mlp_loss)(p, *xs) if task == "mlp train" else xs[0]
        return opt, opt(p, g)

    return _analysis(fstep, dn, opt, p, *extra)


# -- memory bandwidth ------------------------------------------------------------------------


def copy_steps(n: int) -> dict[str, tuple[Callable[[], Callable[[], Any]], int]]:
    """Streaming copies of ``n`` float32: factory and bytes moved per call (read + write)."""

    def numpy_copy() -> Callable[[], Any]:
        a = np.ones(n, np.float32)
        b = np.empty_like(a)
        return lambda: np.copyto(b, a)

    def jax_inplace() -> Callable[[], Any]:
        f = jax.jit(lambda x: x + 1.0, donate_argnums=0)
        box = [jnp.ones(n, jnp.float32)]

        def step() -> Any:
            box[0] = f(box[0])
            return box[0]

        return step

    def jax_fresh() -> Callable[[], Any]:
        f = jax.jit(lambda x: x + 1.0)
        x = jnp.ones(n, jnp.float32)
        return lambda: f(x)

    nbytes = 2 * 4 * n
    return {
        "numpy copyto": (numpy_copy, nbytes),
        "jax x+1 (donated, in place)": (jax_inplace, nbytes),
        "jax x+1 (fresh output)": (jax_fresh, nbytes),
    }


# -- HLO operations per leaf ----------------------------------------------------------------


def _lowered_optax(params: Any) -> Any:
    optax = need("optax")
    tx = optax.adam(LR)

    def step(p: Any, s: Any, g: Any) -> Any:
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    return jax.jit(step, donate_argnums=(0, 1)).lower(params, tx.init(params), params)


def _lowered_flarejax(params: Any) -> Any:
    flr = need("flarejax")
    opt = flr.optim.Adam(LR)
    opt.init(params)

    def step(opt: Any, p: Any, g: Any) -> Any:
        return opt, opt(p, g)

    return jax.jit(step, donate_argnums=(0, 1)).lower(opt, params, params)


HLO_PEERS: dict[str, Callable[[Any], Any]] = {
    "optax jit+donate": _lowered_optax,
    "flarejax jit+donate": _lowered_flarejax,
}


def _hlo_counts(lowered: Any) -> dict[str, int]:
    given = lowered.as_text()  # StableHLO: what XLA is given to compile
    ops = sum(1 for line in given.splitlines() if " = stablehlo." in line or " = chlo." in line)
    compiled = lowered.compile().as_text()
    entry = compiled.split("\nENTRY", 1)[-1]
    return {
        "stablehlo_ops": ops,
        # Each fusion is one loop over its leaf on CPU; the entry's other instructions
        # are parameters, tuples and the occasional unfused copy.
        "fusions": sum(1 for line in entry.splitlines() if " fusion(" in line),
        "entry_instructions": sum(1 for line in entry.splitlines() if " = " in line),
        "hlo_instructions": sum(1 for line in compiled.splitlines() if " = " in line),
    }


def hlo_counts(peer: str, small: int, large: int) -> dict[str, float]:
    """HLO counts per leaf of an Adam update: the difference between two leaf counts.

    ``(count(large) - count(small)) / (large - small)`` for (16, 16) leaves, so that
    what a step has once (the step counter, the bias corrections) cancels out.
    """
    a = _hlo_counts(HLO_PEERS[peer](_leaves(small)))
    b = _hlo_counts(HLO_PEERS[peer](_leaves(large)))
    return {k: (b[k] - a[k]) / (large - small) for k in a}


def _leaves(n: int) -> Any:
    return {f"layer{i}": jnp.zeros((16, 16), jnp.float32) for i in range(n)}
