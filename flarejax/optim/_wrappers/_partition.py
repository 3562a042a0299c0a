"""Parameter groups: a different optimizer for each set of keys."""

from __future__ import annotations

from typing import Any

import jax

from .._base import Optimizer
from .._patterns import Pattern, matches, normalize_patterns, require_match
from .._substep import substep

__all__ = ["Partition"]


class Partition(Optimizer):
    r"""Update each group of parameters, chosen by key pattern, with its own optimizer.

    .. math::

        u_p = \mathrm{opt}_{k(p)}(g)_p, \qquad
        k(p) = \text{the first group whose pattern matches } p

    The flarejax answer to torch's ``param_groups`` and ``optax.multi_transform``
    (equal to it with the equivalent labels)::

        opt = Partition({
            "encoder.*": AdamW(1e-4, weight_decay=0.01),
            ("*.bias", "*.scale"): Adam(1e-3),
        }, default=Adam(1e-3))

    A parameter matching several patterns goes to the **first** group, in the
    dict's order; one matching none goes to ``default``, and without a default
    the first step raises ``ValueError`` naming its key. Each group's
    optimizer runs once per step (also when no parameter falls in it), so its
    step counter and schedules advance like the others'. Groups are the
    optimizers themselves: ``opt.opts[0].learning_rate = 3e-4``.

    Parameters
    ----------
    groups : dict
        Pattern (glob, ``re:`` regex, tuple of them, or ``key -> bool``) to optimizer.
    default : Optimizer, optional
        The optimizer of the parameters that match no pattern.
    """

    def __init__(self, groups: dict[Pattern, Optimizer], default: Optimizer | None = None) -> None:
        if not isinstance(groups, dict):
            raise ValueError(f"groups must be a dict of pattern to Optimizer, got {groups!r}")
        for pattern, opt in groups.items():
            if not isinstance(opt, Optimizer):
                raise ValueError(
                    f"groups[{pattern!r}] must be an Optimizer, got {type(opt).__name__}"
                )
        if default is not None and not isinstance(default, Optimizer):
            raise ValueError(f"default must be an Optimizer or None, got {type(default).__name__}")
        self.patterns = tuple(normalize_patterns(p, f"groups key {p!r}") for p in groups)
        self.opts = tuple(groups.values())
        self.default = default

    def group_of(self, key: str) -> int:
        """The index in ``opts`` of the group of ``key``; ``len(opts)`` for the default."""
        for i, spec in enumerate(self.patterns):
            if matches(spec, key):
                return i
        if self.default is None:
            raise ValueError(
                f"parameter {key!r} matches no pattern of Partition and there is no "
                f"default optimizer; patterns: {list(self.patterns)}"
            )
        return len(self.opts)

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        for spec in self.patterns:  # also those that an earlier group shadows
            require_match(spec)
        group = {k: self.group_of(k) for k in grads}
        members = [*self.opts, self.default] if self.default is not None else list(self.opts)
        out: dict[str, jax.Array | None] = dict.fromkeys(grads)
        for i, opt in enumerate(members):
            keys = [k for k in grads if group[k] == i]
            out.update(
                substep(opt, {k: grads[k] for k in keys}, {k: params[k] for k in keys}, extras)
            )
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def hyperparameters(self) -> dict[str, Any]:
        """The groups' hyperparameters, prefixed by the group's index or ``default``."""
        out = {
            f"{i}.{k}": v for i, o in enumerate(self.opts) for k, v in o.hyperparameters().items()
        }
        if self.default is not None:
            out.update({f"default.{k}": v for k, v in self.default.hyperparameters().items()})
        return out
