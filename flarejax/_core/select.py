"""Which leaves of a model are its parameters: the default rule, or ``wrt=``.

By default a parameter is an inexact array leaf; in a model that holds nnx
``Variable`` objects, only the arrays of ``nnx.Param`` variables are (as
``nnx.Optimizer(..., wrt=nnx.Param)``), so that batch statistics, RNG state and
other variables are never updated. ``wrt=`` chooses explicitly: an nnx filter
(``nnx.Param``, ``nnx.PathContains("encoder")``, a tuple of filters, ...) or a
key pattern / predicate of the dotted key (any model). Either way only inexact
arrays can be parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jax.tree_util import PyTreeDef

from .._tree import flat_model, is_param, nnx_module, nnx_path
from .patterns import check_matches_some, key_matches, normalize_patterns

__all__ = ["default_flags", "parameter_keys", "select_params"]


def select_params(
    model: Any, wrt: Any = None
) -> tuple[list[str], list[Any], PyTreeDef, list[bool], list[Any]]:
    """Keys, leaves, treedef, whether each leaf is a parameter, its nnx ``Variable``."""
    keys, leaves, treedef, owners, paths = flat_model(model)
    if wrt is None:
        flags = default_flags([is_param(x) for x in leaves], owners)
    elif _is_nnx_filter(wrt):
        predicate = _nnx_predicate(wrt, owners)
        flags = [
            is_param(x) and o is not None and bool(predicate(nnx_path(p), o))
            for x, o, p in zip(leaves, owners, paths)
        ]
        if not any(flags):
            raise ValueError(
                f"wrt={wrt!r} selects no parameter of the model (an inexact array held by "
                f"a Variable it matches); the model's leaves are e.g. {keys[:6]}"
            )
    else:
        spec = normalize_patterns(wrt, "wrt")
        candidates = [k for k, x in zip(keys, leaves) if is_param(x)]
        check_matches_some(spec, candidates, "wrt")
        flags = [is_param(x) and key_matches(spec, k) for k, x in zip(keys, leaves)]
    return keys, leaves, treedef, flags, owners


def default_flags(inexact: list[bool], owners: list[Any]) -> list[bool]:
    """The default rule, given which leaves are inexact arrays and their nnx Variables."""
    if all(o is None for o in owners):
        return inexact
    return [f and _is_nnx_param(o) for f, o in zip(inexact, owners)]


def parameter_keys(model: Any, wrt: Any = None) -> list[str]:
    """The keys of the parameters of ``model`` (see :func:`select_params`)."""
    keys, _, _, flags, _ = select_params(model, wrt)
    return [k for k, f in zip(keys, flags) if f]


def _is_nnx_param(var: Any) -> bool:
    nnx = nnx_module()
    return nnx is not None and isinstance(var, nnx.Param)


def _is_nnx_filter(wrt: Any) -> bool:
    """nnx filters: types, ``...``, bools, flax.nnx filter objects, tuples holding one."""
    if isinstance(wrt, (list, tuple)):
        return any(not isinstance(w, str) for w in wrt) and any(_is_nnx_filter(w) for w in wrt)
    if isinstance(wrt, type) or wrt is Ellipsis or isinstance(wrt, bool):
        return True
    return type(wrt).__module__.startswith("flax.nnx")


def _nnx_predicate(wrt: Any, owners: list[Any]) -> Callable[..., Any]:
    nnx = nnx_module()
    if nnx is None or all(o is None for o in owners):
        raise ValueError(
            f"wrt={wrt!r} is an nnx filter, but the model holds no flax.nnx Variable; "
            "select parameters of other models by key: wrt='encoder.*' or wrt=lambda key: ..."
        )
    filters = tuple(wrt) if isinstance(wrt, list) else wrt
    return nnx.filterlib.to_predicate(filters)  # type: ignore[no-any-return]
