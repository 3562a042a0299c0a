"""``mu_dtype`` / ``accumulator_dtype``: the dtype in which an optimizer keeps a momentum.

optax names the option ``mu_dtype`` where the accumulator is a first moment
(``adam``, ``lion``, ...) and ``accumulator_dtype`` where it is a momentum trace
(``sgd``, ``signum``); flarejax takes the same names and normalizes both here.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["as_mu_dtype", "moment_dtype"]


def as_mu_dtype(mu_dtype: Any, name: str = "mu_dtype") -> str | None:
    """``mu_dtype`` as the name of a floating dtype, or ``None`` (the gradient's dtype).

    A name, not a ``numpy.dtype`` or scalar type: a string is static in the
    optimizer's PyTree and is not mistaken for a schedule by ``hyperparameters()``.
    ``float64`` becomes ``float32`` unless x64 is enabled, as in optax. ``name``
    is the argument's name in the error message.
    """
    if mu_dtype is None:
        return None
    try:
        dtype = jax.dtypes.canonicalize_dtype(mu_dtype)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"{name} must be a floating dtype or None, got {mu_dtype!r}")
    return dtype.name


def moment_dtype(mu_dtype: str | None, grad: jax.Array) -> str | None:
    """The dtype of a momentum of ``grad`` kept in ``mu_dtype`` (from :func:`as_mu_dtype`).

    A complex gradient's momentum stays complex, at ``mu_dtype``'s precision
    (``float32`` -> ``complex64``): a real accumulator would drop the imaginary
    part. ``None`` means the gradient's own dtype.
    """
    if mu_dtype is None or not jnp.iscomplexobj(grad):
        return mu_dtype
    return jnp.result_type(mu_dtype, jnp.complex64).name
