"""What every step entry point does around its body: pattern checks, nnx in place.

Wraps ``__call__``, ``minimize`` and ``init`` outside their compiled call:

* while the step runs (and is traced), patterns met by :func:`matches` must
  match some parameter of the model passed in (see ``patterns.model_keys``);
* an nnx ``Module`` passed as the model is updated in place, as
  ``nnx.Optimizer.update`` updates it, and returned: ``opt(model, grads)`` and
  ``model = opt(model, grads)`` both work. Only the outermost entry writes
  (a step that calls another step, ``minimize`` calling ``__call__``, writes once).
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from .._tree import nnx_module, variables_of
from .patterns import model_keys
from .select import parameter_keys

__all__ = ["model_entry"]

F = TypeVar("F", bound=Callable[..., Any])

_local = threading.local()


def model_entry(model_arg: int, returns: Literal["model", "pair", "none"]) -> Callable[[F], F]:
    """Decorate a step method whose argument ``model_arg`` (after self) is the model.

    ``returns`` says where the new model is in the result: the result itself,
    its first item, or nowhere (``init``: nothing is written back).
    """

    def decorate(method: F) -> F:
        takes_wrt = "wrt" in inspect.signature(inspect.unwrap(method)).parameters

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if "wrt" in kwargs and not takes_wrt:
                raise TypeError(
                    f"{type(self).__name__}.{method.__name__} takes no wrt= (it overrides "
                    "the step); select its parameters with the gradients instead (None: no "
                    "update), or wrap a Freeze in a Chain"
                )
            model = args[model_arg] if model_arg < len(args) else kwargs.get("model")
            wrt = kwargs.get("wrt")
            outermost = getattr(_local, "depth", 0) == 0
            _local.depth = getattr(_local, "depth", 0) + 1
            try:
                with model_keys(lambda: parameter_keys(model, wrt)):
                    out = method(self, *args, **kwargs)
            finally:
                _local.depth -= 1
            if not outermost or returns == "none" or not _is_nnx_object(model):
                return out
            if returns == "model":
                return _write_back(model, out)
            return (_write_back(model, out[0]), *out[1:])

        wrapper.__flarejax_entry__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def _is_nnx_object(model: Any) -> bool:
    """An nnx ``Module`` (any nnx graph object), not an ``nnx.State`` or a plain tree."""
    nnx = nnx_module()
    if nnx is None:
        return False
    base = getattr(nnx, "Pytree", None) or nnx.Module
    return isinstance(model, base)


def _write_back(model: Any, new: Any) -> Any:
    """Put the values of ``new``'s Variables into ``model``'s; return ``model``.

    ``new`` is ``model`` rebuilt by pytree unflattening (with fresh Variables),
    so its Variables pair up with ``model``'s in pytree order. Should the
    structure differ (the step changed it), ``new`` is returned as it is.
    """
    old_vars, new_vars = variables_of(model), variables_of(new)
    if len(old_vars) != len(new_vars) or not old_vars:
        return new
    for old, fresh in zip(old_vars, new_vars):
        if old is not fresh:
            old.set_raw_value(fresh.get_raw_value())
    return model
