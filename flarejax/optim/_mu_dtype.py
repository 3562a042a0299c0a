"""``mu_dtype``: the dtype in which an optimizer keeps its first moment."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["as_mu_dtype"]


def as_mu_dtype(mu_dtype: Any) -> str | None:
    """``mu_dtype`` as the name of a floating dtype, or ``None`` (the gradient's dtype).

    A name, not a ``numpy.dtype`` or scalar type: a string is static in the
    optimizer's PyTree and is not mistaken for a schedule by ``hyperparameters()``.
    ``float64`` becomes ``float32`` unless x64 is enabled, as in optax.
    """
    if mu_dtype is None:
        return None
    try:
        dtype = jax.dtypes.canonicalize_dtype(mu_dtype)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"mu_dtype must be a floating dtype or None, got {mu_dtype!r}")
    return dtype.name
