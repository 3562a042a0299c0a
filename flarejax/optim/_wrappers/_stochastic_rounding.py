"""Stochastic rounding of low-precision parameters."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._optimizers._keys import as_key
from .._substep import substep

__all__ = ["StochasticRounding", "stochastic_round"]


def stochastic_round(x: jax.Array, dtype: Any, key: jax.Array) -> jax.Array:
    r"""``x`` rounded to ``dtype``, up or down at random, exact in expectation.

    Of the two values of ``dtype`` around ``x``, :math:`a \le x \le b`, the
    result is :math:`b` with probability :math:`(x - a) / (b - a)`, else
    :math:`a`: :math:`\mathbb{E}[\operatorname{round}(x)] = x`. A value of
    ``dtype`` (and infinity, NaN) is returned unchanged.
    """
    nearest = x.astype(dtype)
    near = nearest.astype(x.dtype)
    # The neighbour of the nearest value on the other side of x.
    toward = jnp.where(near > x, -jnp.inf, jnp.inf).astype(dtype)
    other = jnp.nextafter(nearest, toward)
    # |x - near| <= |other - near| / 2: the probability of the far one is at most 1/2.
    prob = jnp.abs(x - near) / jnp.abs(other.astype(x.dtype) - near)
    draw = jax.random.uniform(key, x.shape, x.dtype)
    # NaN or infinite x, or an infinite neighbour: prob is NaN or 0, and nearest stays.
    return jnp.where(draw < prob, other, nearest)


def _is_narrow(dtype: Any) -> bool:
    """A real floating dtype of fewer than 32 bits (bfloat16, float16, float8)."""
    return bool(jnp.issubdtype(dtype, jnp.floating) and jnp.finfo(dtype).bits < 32)


class StochasticRounding(Optimizer):
    r"""Round low-precision parameters stochastically after each step of ``opt``.

    The step of ``opt`` is subtracted in float32 and the result rounded to the
    parameter's dtype up or down at random, with the probabilities that make
    the rounding exact in expectation:

    .. math::

        \hat\theta_t = \theta_{t-1} - u_t, \qquad
        \theta_t = \begin{cases}
            \lceil \hat\theta_t \rceil & \text{with probability }
                (\hat\theta_t - \lfloor \hat\theta_t \rfloor)
                / (\lceil \hat\theta_t \rceil - \lfloor \hat\theta_t \rfloor) \\
            \lfloor \hat\theta_t \rfloor & \text{otherwise}
        \end{cases}

    where :math:`\lfloor\cdot\rfloor, \lceil\cdot\rceil` are the neighbouring
    values of the parameter's dtype. Rounding to nearest drops every update
    smaller than half a unit in the last place (in bfloat16, 1/512 of the
    weight): ``1e-4`` steps never move a bfloat16 weight of 1. Stochastic
    rounding moves it by ``1e-4`` per step on average, without the float32
    master copy of :class:`MasterWeights` (which doubles the parameters'
    memory); it costs a random draw per parameter per step.

    Parameters of 32 bits or more (``float32``, ``float64``, complex) are
    left to ``opt`` unchanged: on them the wrapper is ``opt`` exactly. Wrap the
    whole optimizer (the last member of a ``Chain``): an update returned to a
    further member would be rounded again. The update handed to the model is
    the difference between the old and the new parameter, in the parameter's
    dtype, which is exact unless the step is at least half the parameter.
    No peer ships it: optax and ``torch.optim`` round to nearest.

    Parameters
    ----------
    opt : Optimizer
        The optimizer whose steps are rounded.
    key : int or jax key, optional
        The seed, or a key (typed, or a raw ``uint32[2]`` key); ``None`` for 0.
        Kept in the state as ``self.key`` and split once per step, so that a
        run is reproducible, eagerly and under ``jax.jit`` alike.

    References
    ----------
    Gupta et al., "Deep Learning with Limited Numerical Precision", ICML 2015;
    Zamirai et al., "Revisiting BFloat16 Training", arXiv:2010.06192, 2020.
    """

    def __init__(self, opt: Optimizer, key: int | jax.Array | None = None) -> None:
        self.opt = opt
        self.key = as_key(0 if key is None else key)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        updates = substep(self.opt, grads, params, extras)
        narrow = {k: u for k, u in updates.items() if u is not None and _is_narrow(params[k].dtype)}
        if not narrow:
            return updates
        self.key, sample_key = jax.random.split(self.key)
        keys = jax.random.split(sample_key, len(narrow))
        out = dict(updates)
        for (name, u), k in zip(narrow.items(), keys):
            p = params[name]
            wide = p.astype(jnp.float32)
            new = stochastic_round(wide - u.astype(jnp.float32), p.dtype, k)
            # The base subtracts the update in the parameter's dtype: p - (p - new) = new.
            out[name] = (wide - new.astype(jnp.float32)).astype(p.dtype)
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
