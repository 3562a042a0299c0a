"""Every private or experimental JAX name flarejax uses, in one place.

Each has a reason to exist (no public route does the same) and a fallback where
one is possible, so that a JAX release that moves a name breaks one module, and
the rest of flarejax imports only public JAX and this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from jax import Array as _JaxArray
from jax._src import core as _core
from jax._src import xla_bridge as _xla_bridge
from jax._src.array import ArrayImpl
from jax._src.interpreters import partial_eval as _pe
from jax._src.lax.lax import _convert_element_type
from jax.experimental.shard_alike import shard_alike

__all__ = [
    "ARRAY_IMPL",
    "backends_are_initialized",
    "cache_size",
    "carried_by_loop",
    "current_trace",
    "run_live",
    "shard_alike",
    "under_jit",
    "with_weak_type",
]

# The class of concrete arrays, without creating one: creating an array at import
# would start the backend, after which jax.distributed.initialize can no longer be
# called. ``type(x) is ARRAY_IMPL`` is also the cheapest "concrete jax.Array" test
# on the eager path.
ARRAY_IMPL = ArrayImpl


def with_weak_type(x: Any, dtype: Any, weak: bool) -> Any:
    """``x`` as ``dtype`` with the given weak type.

    ``astype`` always returns a strong type; a weak one is what a Python float
    becomes, and what a step must return where its input was weak.
    """
    return _convert_element_type(x, np.dtype(dtype), weak_type=weak)


# Whether a jax.jit trace is under way (False where this JAX lacks the function).
under_jit: Callable[[], bool] = getattr(_core, "unsafe_am_i_under_a_jit", lambda: False)


def cache_size(jitted: Any) -> Callable[[], int]:
    """The number of compiled variants of a ``jax.jit`` function, as a function.

    Read from jit's private cache counter: there is no public count, and a step
    that grew it compiled (what ``RecompileWarning`` and the tests watch).
    """
    return jitted._cache_size  # type: ignore[no-any-return]


def backends_are_initialized() -> bool:
    """Whether JAX has started its backends (after which jax.distributed cannot start)."""
    return bool(_xla_bridge.backends_are_initialized())


def current_trace() -> Any:
    """The trace that operations are recorded into now (None where JAX hides it).

    A value computed in one trace is valid only there: what is computed once
    and reused (``_core.per_step``) is keyed by it.
    """
    ctx = getattr(_core, "trace_ctx", None)
    return getattr(ctx, "trace", None)


# What jax.lax.scan, fori_loop and while_loop record as a traced function's use.
_LOOPS = frozenset({"scan", "fori_loop", "while_body", "while_cond", "while_loop"})


def carried_by_loop(tracer: Any) -> bool:
    """Whether ``tracer`` is an input of a function traced by a loop (or inside one).

    Reads a tracer's trace, its inputs, its parents and what each was traced for:
    should those change, the answer is False and JAX's own error remains.
    """
    try:
        trace = tracer._trace
        if not any(v is tracer.val for v in trace.frame.invars):
            return False  # made inside the traced function, not carried in
        while trace is not None:
            info = getattr(getattr(trace, "frame", None), "debug_info", None)
            if getattr(info, "traced_for", None) in _LOOPS:
                return True
            trace = getattr(trace, "parent_trace", None)
    except Exception:
        return False
    return False


def run_live(closed: Any, args: list[Any]) -> list[Any]:
    """Evaluate ``closed`` (a ``jax.make_jaxpr`` result) on ``args``, dead code removed.

    Only the operations its outputs depend on run, each eagerly, as JAX runs an
    operation outside ``jax.jit``: nothing is compiled but the operations
    themselves (cached by shape). ``pe.dce_jaxpr`` is the dead-code elimination
    that ``jax.jit`` itself runs; no public name exposes it.
    """
    jaxpr = _pe.convert_constvars_jaxpr(closed.jaxpr)
    live, used = _pe.dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars))
    inputs = [x for x, u in zip([*closed.consts, *args], used) if u]
    out = _core.eval_jaxpr(live, (), *inputs)
    # A constant output (a literal, a closed-over NumPy array) comes back as it is
    # stored: made a JAX array of the traced signature, as jax.jit returns it.
    avals: list[Any] = [v.aval for v in live.outvars]
    return [
        x if isinstance(x, _JaxArray) else with_weak_type(x, a.dtype, a.weak_type)
        for x, a in zip(out, avals)
    ]
