"""Chaining optimizers: each member's updates are the next member's gradients."""

from __future__ import annotations

from typing import Any

import jax

from .._base import Optimizer
from .._substep import substep

__all__ = ["Chain"]


class Chain(Optimizer):
    r"""Apply optimizers one after the other, as ``optax.chain``.

    .. math::

        u^{(0)} = g_t, \qquad u^{(i)} = \mathrm{opt}_i\big(u^{(i-1)}\big), \qquad
        \theta_t = \theta_{t-1} - u^{(n)}

    Each member sees the previous member's updates as its gradients (and the
    same parameters), so ``Chain(ClipByGlobalNorm(1.0), Adam(1e-3))`` clips the
    gradients before Adam. A member that gives no update (``None``) for a
    parameter leaves it unchanged, and the later members skip it. Equal to
    ``optax.chain`` of the optax counterparts; torch has no equivalent (clipping
    and decay are calls made around ``optimizer.step()``).

    Parameters
    ----------
    *opts : Optimizer
        The members, applied in order; their state stays in them
        (``chain.opts[1].m``).
    """

    def __init__(self, *opts: Optimizer) -> None:
        for i, o in enumerate(opts):
            if not isinstance(o, Optimizer):
                raise ValueError(f"opts[{i}] must be an Optimizer, got {type(o).__name__}")
        self.opts = tuple(opts)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        out: dict[str, jax.Array | None] = dict.fromkeys(grads)
        live = dict(grads)
        for opt in self.opts:
            updates = substep(opt, live, {k: params[k] for k in live}, extras)
            live = {k: u for k, u in updates.items() if u is not None}
        out.update(live)
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def takes_per_example_grads(self) -> bool:
        """Whether the first member takes per-example gradients (with a batch axis)."""
        return bool(self.opts) and self.opts[0].takes_per_example_grads()

    def hyperparameters(self) -> dict[str, Any]:
        """The members' hyperparameters, prefixed by their position: ``"1.learning_rate"``."""
        return {
            f"{i}.{k}": v for i, o in enumerate(self.opts) for k, v in o.hyperparameters().items()
        }
