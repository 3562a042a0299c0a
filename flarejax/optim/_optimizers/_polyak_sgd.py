"""SGD with the Polyak step size."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative
from ._complex import sum_abs_sq
from ._moments import Counted, new_counter

__all__ = ["PolyakSGD"]

_VARIANTS = ("sps", "sps+")


class PolyakSGD(Counted):
    r"""SGD with the Polyak step size: the step that would reach ``f_min`` on a linear model.

    .. math::

        u_t &= c\, g_t \\
        \eta_t &= \min\Big(\frac{f(\theta_{t-1}) - f^\star}{\lVert u_t \rVert^2 + \varepsilon},
            \eta_{max}\Big) \quad\text{(0 when } \lVert u_t \rVert^2 + \varepsilon
            \text{ is below machine epsilon)} \\
        \theta_t &= \theta_{t-1} - \eta_t\, u_t

    The norm is over all parameters together. ``variant="sps+"`` clips the gap
    :math:`f - f^\star` at 0. The loss :math:`f(\theta_{t-1})` is the ``loss=``
    extra (``opt(model, grads, loss=loss)``, or ``opt.minimize``), which optax
    takes as ``value=``. Equal to ``optax.polyak_sgd``, including its use of the
    scaled gradient :math:`u_t` in the norm; torch.optim has no Polyak step.

    Parameters
    ----------
    max_learning_rate : float
        :math:`\eta_{max}`, the largest step size.
    scaling : float or schedule
        :math:`c`, a factor on the gradient, or a function of the step count.
    f_min : float
        :math:`f^\star`, a lower bound on the loss (0 for interpolating models).
    eps : float
        :math:`\varepsilon`, added to the squared norm.
    variant : {"sps", "sps+"}
        ``"sps+"`` uses :math:`\max(f - f^\star, 0)`.

    References
    ----------
    Loizou, Vaswani, Laradji & Lacoste-Julien, "Stochastic Polyak Step-size for
    SGD: An Adaptive Learning Rate for Fast Convergence", AISTATS 2021.
    """

    def __init__(
        self,
        max_learning_rate: float = 1.0,
        scaling: float = 1.0,
        f_min: float = 0.0,
        eps: float = 0.0,
        variant: str = "sps",
    ) -> None:
        check_nonnegative("max_learning_rate", max_learning_rate)
        check_nonnegative("scaling", scaling)
        check_nonnegative("eps", eps)
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        self.max_learning_rate = max_learning_rate
        self.scaling = scaling
        self.f_min = f_min
        self.eps = eps
        self.variant = variant
        self.t = new_counter()

    def call_model(
        self, grads: dict[str, jax.Array], *, loss: Any = None, **_: Any
    ) -> dict[str, jax.Array]:
        if loss is None:
            raise TypeError(
                "PolyakSGD needs the loss value: call opt(model, grads, loss=loss) "
                "or opt.minimize(loss_fn, model, ...)"
            )
        grads = super().call_model(grads)
        scaling = self.current(self.scaling)
        grads = {key: scaling * grad for key, grad in grads.items()}
        sq_norm = sum(sum_abs_sq(g) for g in grads.values())
        gap = jnp.asarray(loss - self.f_min).astype(jnp.result_type(sq_norm))
        if self.variant == "sps+":
            gap = jnp.maximum(gap, 0)
        step = jnp.where(
            sq_norm + self.eps <= jnp.finfo(float).eps,
            0.0,
            jnp.minimum(gap / (sq_norm + self.eps), self.max_learning_rate),
        )
        # The step size is global, so the whole update is made here.
        return {key: step * grad for key, grad in grads.items()}
