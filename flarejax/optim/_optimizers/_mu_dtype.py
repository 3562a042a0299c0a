"""The dtypes of optimizer state: ``mu_dtype`` / ``accumulator_dtype`` and ``state_dtype``.

optax names the option ``mu_dtype`` where the accumulator is a first moment
(``adam``, ``lion``, ...) and ``accumulator_dtype`` where it is a momentum trace
(``sgd``, ``signum``); flarejax takes the same names and normalizes both here.

``state_dtype`` (:class:`StateDtype`) covers all of an optimizer's state and its
arithmetic: the step runs on the gradients and parameters cast to it, so every
buffer built from them is kept in it, and the update is cast once, at the end,
to the parameter's dtype. ``mu_dtype`` (or ``accumulator_dtype``), when given,
still decides the dtype of the first moment (the momentum).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer

__all__ = ["StateDtype", "as_mu_dtype", "moment_dtype"]


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


class StateDtype(Optimizer):
    """Keep all state, and compute the update, in ``state_dtype``.

    A subclass calls ``self.init_state_dtype(state_dtype)`` in ``__init__``.
    With ``state_dtype=None`` (the default) nothing changes: the state takes
    the gradients' dtype. Otherwise :meth:`updates` runs the hooks on the
    gradients and parameters cast to ``state_dtype`` (a complex one to the
    complex dtype of that precision), so that the state built from them with
    ``zeros_like(grad)`` and every product with a hyperparameter is in
    ``state_dtype``, and casts each update once to its parameter's dtype.

    This is what trains bfloat16 parameters: in bfloat16 ``0.999`` rounds to
    ``1.0``, so an Adam second moment kept in bfloat16 never decays; with
    ``state_dtype=jnp.float32`` it is float32, as are the bias corrections and
    the division, and only the update is rounded to bfloat16.
    """

    state_dtype: str | None = None

    def init_state_dtype(self, state_dtype: Any) -> None:
        """Check and store ``state_dtype`` (a floating dtype or ``None``)."""
        self.state_dtype = as_mu_dtype(state_dtype, "state_dtype")

    def compute_dtype(self, x: jax.Array) -> str | None:
        """The dtype in which the step computes with ``x``: ``state_dtype``'s, complex kept."""
        return moment_dtype(self.state_dtype, x)

    def updates(
        self, grads: dict[str, jax.Array], params: dict[str, jax.Array], extras: dict[str, Any]
    ) -> dict[str, jax.Array | None]:
        if self.state_dtype is None:
            return super().updates(grads, params, extras)
        wide_grads = {k: g.astype(self.compute_dtype(g)) for k, g in grads.items()}
        wide_params = {k: p.astype(self.compute_dtype(p)) for k, p in params.items()}
        out = super().updates(wide_grads, wide_params, extras)
        return {k: None if u is None else u.astype(params[k].dtype) for k, u in out.items()}
