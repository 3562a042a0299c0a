"""``opt.init(model)``: the state a first step would build, built ahead of time.

The step is traced once on a copy of the optimizer whose state dicts record the
first value written under each new key: that first write is the lazy build
(``self.m[key] = jnp.zeros_like(grad)`` in the tutorial's style, whatever it
writes). The update itself is dead code and never runs. Each recorded value is
then given the dtype and weak type that the step returns for that entry, so the
state after ``init`` has exactly the signature of the state after a step and a
jitted step compiles once. On several devices, each recorded array shaped like
its parameter is sharded like the parameter (``shard_alike``): the state is born
sharded as a step leaves it, rather than whole on one device.

Tracing the step costs as much as the update it traces (tens of microseconds
per operation, some thirty operations per Adam parameter), ten times what
``optax``'s ``init`` spends. A class whose lazily-built state is exactly what
its ``build_state(key, grad)`` writes says so with ``builds_state_by_key = True``
in its own body (not inherited: a subclass may build more); ``init`` then calls
``build_state`` for each parameter, eagerly, and traces nothing.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten

from .._jax import run_live, shard_alike, with_weak_type
from .._tree import ARRAY_TYPES, flat_keys, is_param
from .eager import functional_method, own_state, traced_here
from .pytree import is_optimizer
from .select import select_params

__all__ = [
    "Recorder",
    "building",
    "builds_by_key",
    "cast_like",
    "match_like",
    "optimizers_in",
    "prebuild_state",
    "same_structure",
]

_local = threading.local()


def building() -> bool:
    """True while ``opt.init`` traces the step (so hooks can say "call init with ...")."""
    return getattr(_local, "depth", 0) > 0


class Recorder(dict):  # type: ignore[type-arg]
    """A state dict that remembers the first value stored under each new key."""

    def __init__(self, base: dict[Any, Any]) -> None:
        super().__init__(base)
        self.first: dict[Any, Any] = {}

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self and key not in self.first:
            self.first[key] = tree_map(lambda x: x, value)  # a snapshot of the containers
        super().__setitem__(key, value)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value


def _copy(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, leaves)


def optimizers_in(opt: Any) -> list[Any]:
    """``opt`` and every optimizer nested in it, in a fixed order."""
    found = [opt]
    for name in sorted(opt.__dict__):
        inner = jax.tree_util.tree_leaves(opt.__dict__[name], is_leaf=is_optimizer)
        for x in inner:
            if is_optimizer(x):
                found.extend(optimizers_in(x))
    return found


def cast_like(x: Any, like: Any) -> Any:
    """``x`` with the dtype and weak type of ``like`` (same shape), else unchanged."""
    if not hasattr(x, "dtype") or not hasattr(like, "dtype") or np.shape(x) != np.shape(like):
        return x
    weak = jax.typeof(like).weak_type
    if x.dtype == like.dtype and jax.typeof(x).weak_type == weak:
        return x
    return with_weak_type(jnp.asarray(x), like.dtype, weak)


def match_like(value: Any, like: Any) -> Any:
    if not same_structure(value, like):
        return value
    return tree_map(cast_like, value, like)


def prebuild_state(opt: Any, model: Any, extras: dict[str, Any]) -> None:
    """Build in ``opt`` the state that its first step on ``model`` would build."""
    trees = (opt, model, extras)
    leaves, treedef = tree_flatten(trees)
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        _prebuild_traced(opt, model, extras)  # inside the user's trace: run inline
        return
    if jax.device_count() > 1:
        # Placed as a step places it: the state like its parameter (shard_alike),
        # the scalars replicated, which only a compiled call of the step does.
        _prebuild_compiled(opt, model, extras)
        return
    if builds_by_key(opt):
        _build_by_key(opt, model, extras.get("wrt"))
        return
    # Traced once, then only what the built state depends on runs: the update
    # (most of the step) is dead code, neither compiled nor run.
    dynamic = [isinstance(x, ARRAY_TYPES) for x in leaves]
    out: dict[str, Any] = {}

    def build(*arrays: Any) -> list[Any]:
        it = iter(arrays)
        o, m, e = tree_unflatten(treedef, [next(it) if d else x for x, d in zip(leaves, dynamic)])
        _prebuild_traced(o, m, e)
        new, out["treedef"] = tree_flatten(o)
        out["traced"] = [isinstance(x, jax.core.Tracer) for x in new]
        out["static"] = [None if t else x for x, t in zip(new, out["traced"])]
        return [x for x, t in zip(new, out["traced"]) if t]

    args = [x for x, d in zip(leaves, dynamic) if d]
    closed = jax.make_jaxpr(build)(*args)
    values = iter(run_live(closed, args))
    new = [next(values) if t else x for x, t in zip(out["static"], out["traced"])]
    opt.__dict__.update(tree_unflatten(out["treedef"], new).__dict__)
    own_state(opt, args)


@functional_method(0)
def _prebuild_compiled(opt: Any, model: Any, extras: dict[str, Any]) -> None:
    """The state built inside one compiled call, as a step builds it."""
    _prebuild_traced(opt, model, extras)


def _prebuild_traced(opt: Any, model: Any, extras: dict[str, Any]) -> None:
    keys, leaves, treedef = flat_keys(model)
    params = dict(zip(keys, leaves))
    # Strongly typed even for a weakly-typed parameter: a state built weak turns
    # strong at the first real step (whose gradients are strong), while state
    # built strong stays strong under weak or strong gradients.
    # Per-example gradients get a batch of one.
    batch = (1,) if opt.takes_per_example_grads() else ()
    grads = tree_unflatten(
        treedef,
        [jnp.zeros(batch + jnp.shape(x), x.dtype) if is_param(x) else None for x in leaves],
    )
    pre, work = _copy(opt), _copy(opt)
    recorders = []
    for w in optimizers_in(work):
        for name, value in list(w.__dict__.items()):
            if type(value) is dict:
                rec = Recorder(value)
                object.__setattr__(w, name, rec)
                recorders.append((w, name, rec))
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        with traced_here():  # the hooks run as written, on the recorders
            work(model, grads, **extras)
    finally:
        _local.depth -= 1

    by_object = {id(w): p for p, w in zip(optimizers_in(pre), optimizers_in(_as_plain(work)))}
    for w, name, rec in recorders:
        p = by_object[id(w)]
        built = dict(p.__dict__[name])
        now = w.__dict__.get(name)
        for key, first in rec.first.items():
            value = match_like(first, now[key]) if isinstance(now, dict) and key in now else first
            built[key] = _like_param(value, params.get(key))
        object.__setattr__(p, name, built)
    for p, w in zip(optimizers_in(pre), optimizers_in(work)):
        if "_specs" in w.__dict__:
            object.__setattr__(p, "_specs", w.__dict__["_specs"])

    if same_structure(pre, work):
        pre = tree_map(cast_like, pre, work)
    else:
        warnings.warn(
            f"{type(opt).__name__}.init could not pre-build all of the state: the step "
            "changes the optimizer's structure outside its state dicts (build such "
            "state in __init__ or in a dict keyed by the parameter's key); the first "
            "jitted step will compile once more",
            stacklevel=4,
        )
    opt.__dict__.update(pre.__dict__)


def builds_by_key(opt: Any) -> bool:
    """Whether ``opt``'s own class declares that ``build_state`` builds all its lazy state."""
    return bool(type(opt).__dict__.get("builds_state_by_key", False))


def _build_by_key(opt: Any, model: Any, wrt: Any) -> None:
    """``init`` for a class that builds its state by key: no trace, no compilation."""
    keys, leaves, _, flags, _ = select_params(model, wrt)
    params = {k: x for k, x, f in zip(keys, leaves, flags) if f}
    inputs = tree_leaves((opt, model))
    pre = _copy(opt)
    pre._check_specs(params)
    for key, param in params.items():
        # The gradient's stand-in: strongly typed as a real gradient is (see above),
        # and placed (sharded) as the parameter.
        grad = param.astype(param.dtype) if jax.typeof(param).weak_type else param
        pre.build_state(key, grad)
    opt.__dict__.update(pre.__dict__)
    own_state(opt, inputs)


def _like_param(value: Any, param: Any) -> Any:
    """The arrays of ``value`` shaped like ``param``, sharded like it (on several devices)."""
    if not isinstance(param, jax.core.Tracer) or jax.device_count() == 1:
        return value

    def alike(x: Any) -> Any:
        if isinstance(x, jax.core.Tracer) and np.ndim(x) > 0 and np.shape(x) == np.shape(param):
            return shard_alike(x, param)[0]
        return x

    return tree_map(alike, value)


def same_structure(a: Any, b: Any) -> bool:
    same: bool = tree_structure(a) == tree_structure(b)  # type: ignore[operator]
    return same


def _as_plain(work: Any) -> Any:
    """Turn the recorders back into plain dicts, in place; return ``work``."""
    for w in optimizers_in(work):
        for name, value in list(w.__dict__.items()):
            if isinstance(value, Recorder):
                object.__setattr__(w, name, dict(value))
    return work
