"""What makes every ``Optimizer`` a PyTree: which attributes are children, which static."""

from __future__ import annotations

import enum
import types
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import GetAttrKey

from .._jax import under_jit, with_weak_type

__all__ = [
    "CHILDREN_SLOT",
    "HISTORY_SLOT",
    "OPTIMIZER_MARK",
    "OWNED_SLOT",
    "TRACED_SLOT",
    "as_hyperparameter",
    "as_weak_scalar",
    "flatten",
    "flatten_with_keys",
    "is_optimizer",
    "is_static",
    "mark_birth",
    "unflatten",
]

# Slots of every Optimizer, outside its __dict__ (so never flattened):
CHILDREN_SLOT = "_flarejax_children"  # names unflatten made children
OWNED_SLOT = "_flarejax_owned"  # what its last eager step made (flarejax._core.eager)
HISTORY_SLOT = "_flarejax_history"  # its eager steps' recompiles (flarejax._core.recompiles)
TRACED_SLOT = "_flarejax_traced"  # made while a jax.jit trace was under way

# Set on the class Optimizer (flarejax._core.base): what is_optimizer tests, so
# that the modules below base need not import it.
OPTIMIZER_MARK = "__flarejax_optimizer__"


def is_optimizer(x: Any) -> bool:
    """Whether ``x`` is an ``Optimizer`` (an instance, not the class)."""
    return not isinstance(x, type) and getattr(type(x), OPTIMIZER_MARK, False)


_STATIC_SCALARS = (bool, int, str, bytes, type, np.dtype, enum.Enum, types.FunctionType)


def _is_pytree_node(x: Any) -> bool:
    return not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(x))


def is_static(value: Any) -> bool:
    """Bools, ints, strings, None, callables and tuples of them live in the treedef.

    Hooks can branch on them in Python; changing one recompiles. Everything else
    (arrays, float hyperparameters, state dicts, nested optimizers) is a child.
    """
    if value is None or isinstance(value, _STATIC_SCALARS):
        return True
    if isinstance(value, (jax.Array, np.ndarray, np.generic, float, complex)):
        return False
    if type(value) is tuple or type(value) is frozenset:
        return all(is_static(v) for v in value)
    if callable(value) and not _is_pytree_node(value):
        try:
            hash(value)
        except TypeError:
            return False
        return True
    return getattr(value, "__flarejax_static__", False)


def as_hyperparameter(value: Any) -> Any:
    """Python floats become weakly-typed scalar arrays, once, on assignment.

    A weak type keeps ``lr * grad`` in the gradient's dtype (bfloat16 stays
    bfloat16), and an array signature means that a new value of the
    hyperparameter reuses the compiled step instead of recompiling it.
    """
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        return jnp.asarray(float(value))
    if type(value) in (tuple, list) and any(isinstance(v, (float, np.floating)) for v in value):
        return type(value)(as_hyperparameter(v) for v in value)
    return value


def as_weak_scalar(value: Any) -> Any:
    """A concrete floating scalar of any dtype as the weak scalar a Python float becomes.

    ``jnp.float32(0.01)``, ``np.array(0.01)`` or a bfloat16 scalar given for a
    hyperparameter would otherwise be a strongly-typed leaf: a step compiled for
    it recompiles when a Python float replaces it, and a bfloat16 one would
    round the updates it scales. Anything else is returned unchanged.
    """
    if not isinstance(value, (jax.Array, np.ndarray, np.generic)):
        return value  # Python floats are as_hyperparameter's; a dtype class is no scalar
    if isinstance(value, jax.core.Tracer):
        return value
    if np.ndim(value) != 0 or not jnp.issubdtype(value.dtype, jnp.floating):
        return value
    if isinstance(value, jax.Array):
        # Converted on its device: no transfer to the host, nor a copy when it
        # already is a weak scalar of the default float dtype.
        target = jax.dtypes.canonicalize_dtype(jnp.float64)
        if value.dtype == target and jax.typeof(value).weak_type:
            return value
        return with_weak_type(value, target, True)
    return jnp.asarray(float(value))


def flatten_with_keys(opt: Any) -> tuple[list[tuple[GetAttrKey, Any]], Any]:
    # Attribute names are sorted as strings: the leaf order is the same in
    # every process, whatever PYTHONHASHSEED is.
    attrs = opt.__dict__
    # An object rebuilt by unflatten keeps its children as children, whatever
    # values a tree_map put there (None, a bool): the structure must survive
    # jax.tree.map, equinox's partition and orbax's restore.
    kept = getattr(opt, CHILDREN_SLOT, ())
    names, children, static = [], [], []
    for name in sorted(attrs):
        value = attrs[name]
        if name not in kept and is_static(value):
            static.append((name, value))
        else:
            names.append(name)
            children.append((GetAttrKey(name), value))
    return children, (tuple(names), tuple(static))


def flatten(opt: Any) -> tuple[list[Any], Any]:
    children, aux = flatten_with_keys(opt)
    return [c for _, c in children], aux


def unflatten(cls: type, aux: Any, children: Any) -> Any:
    names, static = aux
    obj: Any = object.__new__(cls)
    attrs = obj.__dict__
    attrs.update(static)
    attrs.update(zip(names, children))
    object.__setattr__(obj, CHILDREN_SLOT, frozenset(names))
    mark_birth(obj)
    return obj


def mark_birth(obj: Any) -> None:
    """Record whether ``obj`` is made inside a ``jax.jit`` trace.

    Such an optimizer belongs to the traced function (``jax.jit(tx.init)``, one
    built in the step), so its step may fill it with tracers; one made outside
    and stepped inside was closed over (see ``flarejax._core.eager``).
    """
    object.__setattr__(obj, TRACED_SLOT, under_jit())
