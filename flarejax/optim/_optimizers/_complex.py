"""Complex parameters: squares and norms of gradients, and rejecting what cannot take them.

A complex gradient's "square" in a second moment is :math:`|g|^2 = g \\bar g`, a
real number (``g**2`` would be complex and rotate the step), and its norm is
:math:`\\sqrt{\\sum |g|^2}`, as in optax (``optax.numerics.abs_sq``). Every
optimizer takes its squares and norms from here, so real gradients get exactly
the arithmetic they always had (``g**2``) and complex ones the modulus.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["abs_sq", "norm", "real_like", "reject_complex", "sum_abs_sq"]


def abs_sq(x: jax.Array) -> jax.Array:
    """:math:`|x|^2` element-wise: ``x**2`` for real ``x``, ``re(x)**2 + im(x)**2`` for complex."""
    if jnp.iscomplexobj(x):
        # re^2 + im^2, as optax.tree.norm sums it (no imaginary part computed).
        return jnp.square(x.real) + jnp.square(x.imag)
    return x**2


def sum_abs_sq(x: jax.Array) -> jax.Array:
    """The squared Euclidean (Frobenius) norm of ``x``, real for complex ``x`` too."""
    return jnp.sum(abs_sq(x))


def norm(x: jax.Array) -> jax.Array:
    """The Euclidean (Frobenius) norm of ``x``, real for complex ``x`` too."""
    return jnp.sqrt(sum_abs_sq(x))


def real_like(x: jax.Array, fill: float = 0.0) -> jax.Array:
    """An array of ``x``'s shape filled with ``fill``, in ``x``'s real dtype.

    For state that accumulates :math:`|g|^2` (a real number), so that a complex
    parameter's second moment is kept real, at half the memory. For real ``x``
    this is ``jnp.full_like(x, fill)``.
    """
    return jnp.full_like(jnp.real(x), fill)


def reject_complex(optimizer: object, key: str, x: jax.Array, why: str) -> None:
    """Raise ``TypeError`` if parameter ``key`` is complex: ``optimizer`` cannot step it.

    Called from ``call_param``, it raises while the first step is traced, eagerly
    and under ``jax.jit`` alike, before any state is built.
    """
    if jnp.iscomplexobj(x):
        raise TypeError(
            f"{type(optimizer).__name__} does not support complex parameters ({why}); "
            f"parameter {key!r} is {x.dtype}. Split it into real and imaginary parts "
            "(optax.contrib.split_real_and_imaginary does this for optax) or use an "
            "optimizer that supports complex parameters (see the catalogue)"
        )
