"""Driving an optimizer eagerly or under ``jax.jit``, counting the traces of the step."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import jax
from jax.tree_util import tree_flatten, tree_unflatten

from .._core.eager import Static as _Box  # the same static leaf box as the eager path
from .._tree import ARRAY_TYPES
from ._models import grads_of, params_only

__all__ = ["Runner", "extras_function", "loss_of"]


def _box(tree: Any, numbers_dynamic: bool) -> Any:
    leaves, treedef = tree_flatten(tree)
    dynamic = (*ARRAY_TYPES, jax.core.Tracer, float, int) if numbers_dynamic else ARRAY_TYPES
    return tree_unflatten(
        treedef,
        [x if isinstance(x, dynamic) and not isinstance(x, bool) else _Box(x) for x in leaves],
    )


def _unbox(tree: Any) -> Any:
    leaves, treedef = tree_flatten(tree, is_leaf=lambda x: isinstance(x, _Box))
    return tree_unflatten(treedef, [x.value if isinstance(x, _Box) else x for x in leaves])


@functools.lru_cache(maxsize=64)
def loss_of(objective: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``objective`` compiled, taking whole models (their non-parameters are dropped).

    One function object per objective, so that passing it as ``loss_fn=`` to a
    jitted step does not recompile it.
    """
    compiled = jax.jit(objective)

    def loss_fn(model: Any) -> Any:
        return compiled(params_only(model))

    loss_fn.__name__ = getattr(objective, "__name__", "loss_fn")
    return loss_fn


def extras_function(
    extras: Any,
) -> Callable[[Any, int, Callable[[Any], Any]], dict[str, Any]]:
    """``extras=`` as a function of ``(model, step, loss_fn)``."""
    if extras is None:
        return lambda model, step, loss_fn: {}
    if isinstance(extras, Mapping):
        fixed = dict(extras)
        return lambda model, step, loss_fn: dict(fixed)
    if not callable(extras):
        raise TypeError(
            f"extras must be None, a dict or a function of (model, step[, loss_fn]), "
            f"got {type(extras).__name__}"
        )
    try:
        inspect.signature(extras).bind(None, 0, None)
        takes_loss = True
    except (TypeError, ValueError):
        takes_loss = False
    if takes_loss:
        return lambda model, step, loss_fn: dict(extras(model, step, loss_fn))
    return lambda model, step, loss_fn: dict(extras(model, step))


class Runner:
    """Steps of one optimizer on one objective, eagerly or through one ``jax.jit``.

    ``traces`` counts how many times the jitted step has been traced, i.e.
    compiled: the counter is incremented by the Python body, which only runs
    while tracing. The jitted step does not depend on the objective (gradients
    and extras are its arguments): :meth:`on` gives a runner for another
    objective that shares it, and its compiled steps.
    """

    def __init__(
        self,
        objective: Callable[[Any], Any],
        extras: Callable[[Any, int, Callable[[Any], Any]], dict[str, Any]],
        _shared: tuple[Any, list[int]] | None = None,
    ) -> None:
        self.loss_fn = loss_of(objective)
        self.objective = objective
        self.extras = extras
        if _shared is None:
            count = [0]

            def step(opt: Any, model: Any, grads: Any, ex: Any) -> Any:
                count[0] += 1
                new = opt(_unbox(model), grads, **_unbox(ex))
                return opt, _box(new, numbers_dynamic=False)

            _shared = (jax.jit(step), count)
        self._jitted: Any = _shared[0]
        self._count: list[int] = _shared[1]

    @property
    def traces(self) -> int:
        return self._count[0]

    def on(self, objective: Callable[[Any], Any]) -> Runner:
        """A runner for ``objective`` sharing this one's jitted step and trace count."""
        return Runner(objective, self.extras, (self._jitted, self._count))

    def grads(self, model: Any, frozen: frozenset[str] = frozenset()) -> Any:
        return grads_of(self.objective, model, frozen)

    def step(
        self, opt: Any, model: Any, i: int, jit: bool, frozen: frozenset[str] = frozenset()
    ) -> tuple[Any, Any]:
        """One step ``i``; returns ``(opt, model)`` (eagerly, ``opt`` is updated in place)."""
        grads = self.grads(model, frozen)
        ex = self.extras(model, i, self.loss_fn)
        if not jit:
            return opt, opt(model, grads, **ex)
        opt, new = self._jitted(
            opt, _box(model, numbers_dynamic=False), grads, _box(ex, numbers_dynamic=True)
        )
        return opt, _unbox(new)

    def init(self, opt: Any, model: Any) -> None:
        opt.init(model, **self.extras(model, 0, self.loss_fn))
