"""Scaling each parameter's update by the size of the parameter: its norm or its RMS."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_nonnegative
from .._optimizers._complex import abs_sq
from ._trust_ratio import floored_norm

__all__ = ["ScaleByParamBlockNorm", "ScaleByParamBlockRMS"]


class _ParamBlockScale(Optimizer):
    """A factor per parameter, a function of the parameter, on its update: :meth:`block_scale`."""

    def __init__(self, min_scale: float = 1e-3) -> None:
        check_nonnegative("min_scale", min_scale)
        self.min_scale = min_scale

    def block_scale(self, param: jax.Array) -> jax.Array:
        """The factor of ``param``'s update, real, at least ``min_scale``."""
        raise NotImplementedError

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        return grad * self.block_scale(param).astype(jnp.real(grad).dtype)


class ScaleByParamBlockNorm(_ParamBlockScale):
    r"""Multiply each parameter's update by the parameter's norm, floored.

    .. math::

        u_p = \max\big(\|\theta_p\|_2, s_0\big)\, g_p

    A *block* is one parameter (a weight vector or matrix): steps are relative
    to the size of the weights they change, as in Fromage and LARS. Equal to
    ``optax.scale_by_param_block_norm``; torch has no built-in equivalent.

    Parameters
    ----------
    min_scale : float
        :math:`s_0`, the smallest factor (so that zero-initialised parameters move).
    """

    def block_scale(self, param: jax.Array) -> jax.Array:
        return floored_norm(param, self.min_scale)


class ScaleByParamBlockRMS(_ParamBlockScale):
    r"""Multiply each parameter's update by the parameter's root mean square, floored.

    .. math::

        u_p = \max\Big(\sqrt{\tfrac{1}{n_p}\textstyle\sum_i |\theta_{p,i}|^2},\; s_0\Big)\, g_p

    As :class:`ScaleByParamBlockNorm`, but independent of the parameter's
    size; Adafactor's relative step size. Equal to
    ``optax.scale_by_param_block_rms`` (the RMS of the *parameter*, which its
    docstring calls the gradient's); torch has no built-in equivalent.

    Parameters
    ----------
    min_scale : float
        :math:`s_0`, the smallest factor (so that zero-initialised parameters move).
    """

    def block_scale(self, param: jax.Array) -> jax.Array:
        rms = jnp.sqrt(jnp.mean(abs_sq(param)))
        return jnp.where(rms <= self.min_scale, jnp.asarray(self.min_scale, rms.dtype), rms)
