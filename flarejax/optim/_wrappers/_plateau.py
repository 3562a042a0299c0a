"""Reducing the step size when the loss stops improving."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._core.init import building
from .._base import Optimizer
from .._checks import check_nonnegative, check_range
from .._substep import substep

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(Optimizer):
    r"""Scale ``opt``'s updates down by ``factor`` when the loss has plateaued.

    .. math::

        u_t = s_t\, \mathrm{opt}(g_t), \qquad
        s_t = \max\big(s_{t-1} \cdot f, s_{min}\big) \text{ after } \text{patience}
        \text{ evaluations without } \bar L < (1 - r)\, L^{best} - a

    The loss comes with each step (``opt(model, grads, loss=loss)``, or
    ``opt.minimize``); it is averaged over ``accumulation_size`` steps before
    each evaluation. After a reduction, ``cooldown`` evaluations pass before
    counting again. ``scale`` holds :math:`s_t`. Equal to ``optax.chain(opt,
    optax.contrib.reduce_on_plateau(...))`` fed ``value=loss``; like
    ``torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min", threshold_mode="rel")``,
    but stepped by the optimizer itself, and :math:`s` multiplies the update.

    Parameters
    ----------
    opt : Optimizer
        The wrapped optimizer.
    factor : float
        :math:`f` in (0, 1), the reduction factor.
    patience : int
        Evaluations without improvement before a reduction.
    rtol, atol : float
        :math:`r, a`, the relative and absolute improvement that counts.
    cooldown : int
        Evaluations to wait after a reduction.
    accumulation_size : int
        Steps whose losses are averaged into one evaluation.
    min_scale : float
        :math:`s_{min}`, the smallest scale.
    """

    def __init__(
        self,
        opt: Optimizer,
        factor: float = 0.1,
        patience: int = 10,
        rtol: float = 1e-4,
        atol: float = 0.0,
        cooldown: int = 0,
        accumulation_size: int = 1,
        min_scale: float = 0.0,
    ) -> None:
        check_range("factor", factor, 0, 1, lo_open=True)
        check_range("rtol", rtol, 0, 1, hi_open=False)
        check_nonnegative("atol", atol)
        if rtol == 0 and atol == 0:
            raise ValueError("at least one of rtol and atol must be > 0, got rtol=0, atol=0")
        check_nonnegative("patience", patience)
        check_nonnegative("cooldown", cooldown)
        check_range("accumulation_size", accumulation_size, 1, float("inf"))
        check_nonnegative("min_scale", min_scale)
        self.opt = opt
        self.factor = factor
        self.patience = patience
        self.rtol = rtol
        self.atol = atol
        self.cooldown = cooldown
        self.accumulation_size = accumulation_size
        self.min_scale = min_scale
        self.scale = jnp.ones((), jnp.float32)
        self.best_value = jnp.asarray(jnp.inf, jnp.float32)
        self.plateau_count = jnp.zeros((), jnp.int32)
        self.cooldown_count = jnp.zeros((), jnp.int32)
        self.count = jnp.zeros((), jnp.int32)
        self.avg_value = jnp.zeros((), jnp.float32)

    def call_model(
        self,
        grads: dict[str, jax.Array],
        *,
        params: dict[str, jax.Array],
        loss: Any = None,
        **extras: Any,
    ) -> dict[str, jax.Array | None]:
        if loss is None and building():
            raise ValueError(
                "ReduceLROnPlateau.init traces a step, which needs a loss: call "
                "opt.init(model, loss=loss) with any scalar loss (its value is not used)"
            )
        if loss is None:
            raise ValueError(
                "ReduceLROnPlateau needs the loss of each step: call opt(model, grads, "
                "loss=loss), or opt.minimize(loss_fn, model, ...)"
            )
        updates = substep(self.opt, grads, params, {**extras, "loss": loss})
        count = self.count + 1
        self.avg_value = (self.count * self.avg_value + jnp.asarray(loss, jnp.float32)) / count
        self.count = count
        self._evaluate(self.count == self.accumulation_size)
        return {
            k: None if u is None else self.scale.astype(u.dtype) * u for k, u in updates.items()
        }

    def _evaluate(self, now: jax.Array) -> None:
        improved = self.avg_value < (1 - self.rtol) * self.best_value - self.atol
        plateau = jnp.where(improved, 0, self.plateau_count + 1)
        cooling = self.cooldown_count > 0
        reduce = ~cooling & (plateau == self.patience)
        reduced = jnp.maximum(
            jnp.where(reduce, self.scale * self.factor, self.scale), self.min_scale
        )
        new_scale = jnp.where(cooling, self.scale, reduced)
        new_plateau = jnp.where(cooling | reduce, 0, plateau)
        new_cooldown = jnp.where(
            cooling, self.cooldown_count - 1, jnp.where(reduce, self.cooldown, 0)
        )
        self.best_value = jnp.where(now & improved, self.avg_value, self.best_value)
        self.scale = jnp.where(now, new_scale, self.scale)
        self.plateau_count = jnp.where(now, new_plateau, self.plateau_count)
        self.cooldown_count = jnp.where(now, new_cooldown, self.cooldown_count).astype(jnp.int32)
        self.count = jnp.where(now, 0, self.count)
        self.avg_value = jnp.where(now, 0.0, self.avg_value)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def hyperparameters(self) -> dict[str, Any]:
        """As :meth:`Optimizer.hyperparameters`, plus ``scale`` and the effective rates.

        Every learning rate of the wrapped optimizer (``opt.learning_rate``, as
        configured) is also reported multiplied by the current ``scale``, under
        its name without the ``opt.`` prefix (``learning_rate``): the step size
        the next step actually takes, as ``torch``'s scheduler reports it.
        """
        out = super().hyperparameters()
        out["scale"] = self.scale
        for name, value in list(out.items()):
            inner = name.removeprefix("opt.")
            is_rate = name.startswith("opt.") and inner.split(".")[-1] == "learning_rate"
            if is_rate and not callable(value):
                out[inner] = self.scale * value
        return out
