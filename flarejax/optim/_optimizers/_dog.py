"""DoG: SGD whose step size is the distance travelled over the root sum of squared gradients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive
from .._patterns import Pattern
from ._complex import sum_abs_sq
from ._decay import DecoupledDecay
from ._moments import Counted, new_counter

__all__ = ["DistanceOverGradients", "DoG"]

_INIT_STEPS = ("distance", "learning_rate", "heuristic")


class DistanceOverGradients(Counted, DecoupledDecay):
    """The base of DoG and DoWG: SGD with one step size per step, from global norms.

    ``call_model`` adds the (coupled) weight decay to the gradients, records the
    parameters of the first step, and hands the squared distance
    :math:`\\lVert \\theta_{t-1} - \\theta_0 \\rVert^2` and the squared gradient
    norm :math:`\\lVert g_t \\rVert^2`, over all parameters together, to
    :meth:`next_step_size`; ``call_param`` scales each gradient by the result.
    The global state is float32 whatever the parameters' dtype (optax keeps it in
    the parameters' lowest-precision dtype).
    """

    def init_shared(
        self,
        learning_rate: Any,
        eps: Any,
        weight_decay: Any,
        mask: Pattern | None,
    ) -> None:
        """Check and store the arguments DoG and DoWG share; create the shared state."""
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.eps = eps
        # optax adds the decay to the gradient before the distance-over-gradient
        # scaling: it is coupled, in the gradient norms, not decoupled.
        self.init_decay(weight_decay, mask, False)
        self.params0: dict[str, jax.Array] = {}
        self.step_size = jnp.zeros((), jnp.float32)
        self.t = new_counter()

    def next_step_size(self, sq_dist: jax.Array, sq_norm: jax.Array) -> jax.Array:
        """Advance the global state; return this step's step size (before the learning rate)."""
        raise NotImplementedError

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **_: Any
    ) -> dict[str, jax.Array]:
        grads = super().call_model(grads)
        if self.weight_decay is not None:
            grads = {key: self.decay(key, g, params[key]) for key, g in grads.items()}
        sq_dist = sq_norm = jnp.zeros((), jnp.float32)
        for key, grad in grads.items():
            if key not in self.params0:
                self.params0[key] = params[key]
            sq_dist = sq_dist + sum_abs_sq(params[key] - self.params0[key]).astype(jnp.float32)
            sq_norm = sq_norm + sum_abs_sq(grad).astype(jnp.float32)
        self.step_size = self.next_step_size(sq_dist, sq_norm)
        return grads

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return (self.current(self.learning_rate) * self.step_size).astype(grad.real.dtype) * grad


class DoG(DistanceOverGradients):
    r"""DoG: distance over gradients, a learning-rate-free SGD.

    .. math::

        \bar r_t &= \max\big(\bar r_{t-1},\; \lVert \theta_{t-1} - \theta_0 \rVert\big),
        \qquad \bar r_0 = r_\epsilon \\
        G_t &= G_{t-1} + \lVert g_t \rVert^2 \\
        \theta_t &= \theta_{t-1} - \eta\, \frac{\bar r_t}{\sqrt{G_t + \varepsilon}}\, g_t

    with norms over all parameters together. The step size grows with the
    largest distance travelled from the start :math:`\theta_0`; only the first
    step needs a scale, ``init_step``: :math:`r_\epsilon` given
    (``("distance", r)``), :math:`r_\epsilon = c\,(1 + \lVert \theta_0 \rVert)`
    (``("heuristic", c)``), or a first step size :math:`s` instead of
    :math:`\bar r_1 / \sqrt{G_1 + \varepsilon}` (``("learning_rate", s)``).
    A ``weight_decay`` :math:`\lambda` is added to the gradient first
    (:math:`g_t + \lambda\, \theta_{t-1}`, so it enters :math:`G_t`), as in
    optax. Equal to ``optax.contrib.dog``; complex parameters take the modulus
    in the norms, as optax.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, a multiplier on the step size (1 for none).
    init_step : tuple of (str, float)
        How the first step is scaled: ``("heuristic", c)``, ``("distance", r)``
        or ``("learning_rate", s)``.
    eps : float
        :math:`\varepsilon`, added to :math:`G_t` under the square root.
    weight_decay : float or schedule, optional
        :math:`\lambda`, added to the gradient (``None``: no decay).
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches, as in :class:`AdamW`.

    References
    ----------
    Ivgi, Hinder & Carmon, "DoG is SGD's Best Friend: A Parameter-Free Dynamic
    Step Size Schedule", ICML 2023.
    """

    def __init__(
        self,
        learning_rate: float | Callable[..., Any] = 1.0,
        init_step: tuple[Literal["distance", "learning_rate", "heuristic"], float] = (
            "heuristic",
            1e-6,
        ),
        eps: float = 1e-8,
        weight_decay: float | Callable[..., Any] | None = None,
        mask: Pattern | None = None,
    ) -> None:
        kind, value = init_step
        if kind not in _INIT_STEPS:
            raise ValueError(f"init_step[0] must be one of {_INIT_STEPS}, got {kind!r}")
        # A zero distance would never grow: the steps would all be zero.
        (check_nonnegative if kind == "learning_rate" else check_positive)("init_step[1]", value)
        self.init_shared(learning_rate, eps, weight_decay, mask)
        # Kept apart: a str inside a tuple of floats cannot be a PyTree child.
        self.init_step_kind = kind
        self.init_step_value = value
        self.max_dist = jnp.zeros((), jnp.float32)
        self.sum_sq_norm_grads = jnp.zeros((), jnp.float32)

    def initial_distance(self) -> jax.Array | Any:
        """:math:`r_\\epsilon`, from ``init_step`` (and :math:`\\theta_0` for the heuristic)."""
        if self.init_step_kind == "distance":
            return self.init_step_value
        if self.init_step_kind == "heuristic":
            sq = sum(sum_abs_sq(p0).astype(jnp.float32) for p0 in self.params0.values())
            return self.init_step_value * (1 + jnp.sqrt(sq))
        return 0.0

    def next_step_size(self, sq_dist: jax.Array, sq_norm: jax.Array) -> jax.Array:
        # theta_0 is known from the first step on: r_eps enters then.
        previous = jnp.where(self.t == 1, self.initial_distance(), self.max_dist)
        self.max_dist = jnp.maximum(previous, jnp.sqrt(sq_dist))
        self.sum_sq_norm_grads = self.sum_sq_norm_grads + sq_norm
        step_size = self.max_dist / jnp.sqrt(self.sum_sq_norm_grads + self.eps)
        if self.init_step_kind == "learning_rate":
            step_size = jnp.where(self.t == 1, self.init_step_value, step_size)
        return step_size.astype(jnp.float32)
