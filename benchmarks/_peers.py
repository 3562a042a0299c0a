"""The peers: one Adam step written the way each library's users write it.

Each ``*_update`` function takes ``(params, grads)`` and returns a step (the
update only: gradients given); each ``*_train`` function returns a full training
step on the MLP (forward, backward, update). A step carries its own state and
copies the arrays it is given, so that donation never deletes a shared buffer.
A peer whose library is not installed raises ``Missing``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from _models import LR, eqx_mlp, mlp_batch, mlp_loss, mlp_params, nnx_grads, nnx_mlp, nnx_module
from _timing import Missing, Skipped

__all__ = ["BASELINE", "TRAIN_PEERS", "UPDATE_PEERS", "need", "torch_device"]

BASELINE = "optax jit"
Step = Callable[[], Any]


def need(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Missing(f"{module} is not installed") from exc


def _copy(tree: Any) -> Any:
    return jax.tree_util.tree_map(jnp.array, tree)


def _donate(donate: bool, *argnums: int) -> tuple[int, ...]:
    return argnums if donate else ()


# -- update only (params and grads given) -------------------------------------------


def optax_update(params: Any, grads: Any, donate: bool = False) -> Step:
    optax = need("optax")
    tx = optax.adam(LR)

    def update(p: Any, s: Any, g: Any) -> Any:
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    f = jax.jit(update, donate_argnums=_donate(donate, 0, 1))
    p = _copy(params)
    box = [p, tx.init(p)]

    def step() -> Any:
        box[0], box[1] = f(box[0], box[1], grads)
        return box[0]

    return step


def nnx_update(params: Any, grads: Any) -> Step:
    nnx = need("flax.nnx")
    optax = need("optax")
    model = nnx_module(params)
    optimizer = nnx.Optimizer(model, optax.adam(LR), wrt=nnx.Param)
    g = nnx_grads(model, grads)

    @nnx.jit
    def update(model: Any, optimizer: Any, grads: Any) -> None:
        optimizer.update(model, grads)

    # Blocking on one output waits for the whole call.
    first = next(k for k, v in vars(model).items() if isinstance(v, nnx.Param))

    def step() -> Any:
        update(model, optimizer, g)
        return getattr(model, first)[...]

    return step


def eqx_update(params: Any, grads: Any) -> Step:
    eqx = need("equinox")
    optax = need("optax")
    tx = optax.adam(LR)

    @eqx.filter_jit
    def update(p: Any, s: Any, g: Any) -> Any:
        u, s = tx.update(g, s, p)
        return eqx.apply_updates(p, u), s

    p = _copy(params)
    box = [p, tx.init(eqx.filter(p, eqx.is_array))]

    def step() -> Any:
        box[0], box[1] = update(box[0], box[1], grads)
        return box[0]

    return step


def flarejax_eager_update(params: Any, grads: Any, donate: bool = False) -> Step:
    flr = need("flarejax")
    opt = flr.optim.Adam(LR)
    box = [_copy(params)]
    opt.init(box[0])

    def step() -> Any:
        # donate=True: the old model is not used again, its buffers take the new one.
        box[0] = opt(box[0], grads, donate=donate)
        return box[0]

    return step


def flarejax_jit_update(params: Any, grads: Any, donate: bool = False) -> Step:
    flr = need("flarejax")
    opt = flr.optim.Adam(LR)
    p = _copy(params)
    opt.init(p)

    def update(opt: Any, p: Any, g: Any) -> Any:
        p = opt(p, g)
        return opt, p

    f = jax.jit(update, donate_argnums=_donate(donate, 0, 1))
    box = [opt, p]

    def step() -> Any:
        box[0], box[1] = f(box[0], box[1], grads)
        return box[1]

    return step


def torch_device() -> str:
    """PyTorch runs on the device JAX uses; a CPU-only torch next to a GPU JAX is skipped."""
    torch = need("torch")
    if jax.default_backend() == "cpu":
        return "cpu"
    if jax.default_backend() == "gpu" and torch.cuda.is_available():
        return "cuda"
    raise Skipped(f"torch has no {jax.default_backend()} device here (CPU-only build)")


def torch_update(params: Any, grads: Any, impl: str) -> Step:
    torch = need("torch")
    device = torch_device()
    ps = []
    for p, g in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(grads)):
        t = torch.nn.Parameter(torch.from_numpy(np.array(p)).to(device))
        t.grad = torch.from_numpy(np.array(g)).to(device)
        ps.append(t)
    opt = torch.optim.Adam(ps, lr=LR, **{impl: True})
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step() -> None:
        opt.step()
        sync()

    return step


UPDATE_PEERS: dict[str, Callable[[Any, Any], Step]] = {
    "optax jit": optax_update,
    "optax jit+donate": functools.partial(optax_update, donate=True),
    "nnx.jit": nnx_update,
    "eqx.filter_jit": eqx_update,
    "flarejax eager": flarejax_eager_update,
    "flarejax eager+donate": functools.partial(flarejax_eager_update, donate=True),
    "flarejax jit": flarejax_jit_update,
    "flarejax jit+donate": functools.partial(flarejax_jit_update, donate=True),
    "torch foreach": functools.partial(torch_update, impl="foreach"),
    "torch fused": functools.partial(torch_update, impl="fused"),
}


# -- full training step on the MLP -----------------------------------------------------


def optax_train(donate: bool = False) -> Step:
    optax = need("optax")
    tx = optax.adam(LR)

    def train(p: Any, s: Any, x: Any, y: Any) -> Any:
        loss, g = jax.value_and_grad(mlp_loss)(p, x, y)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    f = jax.jit(train, donate_argnums=_donate(donate, 0, 1))
    p = mlp_params()
    box = [p, tx.init(p)]
    x, y = mlp_batch()

    def step() -> Any:
        box[0], box[1], loss = f(box[0], box[1], x, y)
        return box[0], loss

    return step


def nnx_train() -> Step:
    nnx = need("flax.nnx")
    optax = need("optax")
    model, loss_fn = nnx_mlp()
    optimizer = nnx.Optimizer(model, optax.adam(LR), wrt=nnx.Param)
    x, y = mlp_batch()

    @nnx.jit
    def train(model: Any, optimizer: Any, x: Any, y: Any) -> Any:
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return loss

    def step() -> Any:
        return train(model, optimizer, x, y)

    return step


def eqx_train() -> Step:
    eqx = need("equinox")
    optax = need("optax")
    tx = optax.adam(LR)
    model, loss_fn = eqx_mlp()
    x, y = mlp_batch()

    @eqx.filter_jit
    def train(model: Any, s: Any, x: Any, y: Any) -> Any:
        loss, g = eqx.filter_value_and_grad(loss_fn)(model, x, y)
        u, s = tx.update(g, s, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, u), s, loss

    box = [model, tx.init(eqx.filter(model, eqx.is_array))]

    def step() -> Any:
        box[0], box[1], loss = train(box[0], box[1], x, y)
        return loss

    return step


def flarejax_jit_train(donate: bool = False) -> Step:
    flr = need("flarejax")
    opt = flr.optim.Adam(LR)
    p = mlp_params()
    opt.init(p)
    x, y = mlp_batch()

    def train(opt: Any, p: Any, x: Any, y: Any) -> Any:
        loss, g = jax.value_and_grad(mlp_loss)(p, x, y)
        p = opt(p, g)
        return opt, p, loss

    f = jax.jit(train, donate_argnums=_donate(donate, 0, 1))
    box = [opt, p]

    def step() -> Any:
        box[0], box[1], loss = f(box[0], box[1], x, y)
        return box[1], loss

    return step


def flarejax_minimize_train() -> Step:
    flr = need("flarejax")
    opt = flr.optim.Adam(LR)
    box = [mlp_params()]
    opt.init(box[0])
    x, y = mlp_batch()

    def step() -> Any:
        box[0], loss = opt.minimize(mlp_loss, box[0], x, y)
        return box[0], loss

    return step


TRAIN_PEERS: dict[str, Callable[[], Step]] = {
    "optax jit": optax_train,
    "optax jit+donate": functools.partial(optax_train, donate=True),
    "nnx.jit": nnx_train,
    "eqx.filter_jit": eqx_train,
    "flarejax jit": flarejax_jit_train,
    "flarejax jit+donate": functools.partial(flarejax_jit_train, donate=True),
}
