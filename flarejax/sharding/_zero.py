"""ZeRO-1: the optimizer's state sharded across the data-parallel axis."""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._core.base import Optimizer
from .._core.step import substep

__all__ = ["ShardedState", "zero_spec"]


def zero_spec(shape: tuple[int, ...], size: int, axis: str) -> PartitionSpec:
    """Shard the largest dimension that ``size`` divides over ``axis``; else replicate."""
    dims = [d for d in range(len(shape)) if shape[d] % size == 0 and shape[d] >= size]
    if size == 1 or not dims:
        return PartitionSpec()
    best = max(dims, key=lambda d: (shape[d], -d))
    # No trailing None: the form in which XLA returns shardings (see the guide).
    return PartitionSpec(*(axis if d == best else None for d in range(best + 1)))


class _Layout:
    """The mesh and axis, static (in the treedef): changing them recompiles."""

    __flarejax_static__ = True
    __slots__ = ("axis", "mesh")

    def __init__(self, mesh: Mesh, axis: str) -> None:
        self.mesh, self.axis = mesh, axis

    def __hash__(self) -> int:
        return hash((self.mesh, self.axis))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Layout) and (self.mesh, self.axis) == (other.mesh, other.axis)

    def __repr__(self) -> str:
        return f"{dict(self.mesh.shape)} along {self.axis!r}"

    def sharding(self, x: Any) -> NamedSharding:
        spec = zero_spec(tuple(x.shape), self.mesh.shape[self.axis], self.axis)
        return NamedSharding(self.mesh, spec)


class ShardedState(Optimizer):
    r"""ZeRO stage 1: shard ``opt``'s state along a data-parallel mesh axis.

    Every per-parameter state array of ``opt`` (and of the optimizers nested in
    it) is split along its largest dimension divisible by the size of ``axis``
    (arrays with no such dimension stay replicated), so each device holds
    :math:`1/n` of the state and computes :math:`1/n` of the update; the updated
    parameters are gathered back to their own sharding (replicated, in plain data
    parallelism). The numbers are those of ``opt`` alone: elementwise updates are
    bit-identical, reductions (norms) may round differently.

    The state is born sharded by ``init`` and kept sharded by a
    ``jax.lax.with_sharding_constraint`` before and after each step, eagerly or
    under ``jax.jit``; ``opt`` itself is unchanged.

    Parameters
    ----------
    opt : Optimizer
        The optimizer whose state is sharded.
    mesh : jax.sharding.Mesh
        The device mesh.
    axis : str
        The data-parallel axis of ``mesh`` to shard the state over.

    References
    ----------
    Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion
    Parameter Models", SC 2020.
    """

    def __init__(self, opt: Optimizer, mesh: Mesh, axis: str = "data") -> None:
        if not isinstance(opt, Optimizer):
            raise ValueError(f"opt must be an Optimizer, got {type(opt).__name__}")
        if not isinstance(mesh, Mesh):
            raise ValueError(f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}")
        if axis not in mesh.shape:
            raise ValueError(
                f"axis must be one of the mesh's axes {tuple(mesh.shape)}, got {axis!r}"
            )
        self.opt = opt
        self.layout = _Layout(mesh, axis)

    def init(self, model: Any, **extras: Any) -> None:
        super().init(model, **extras)
        self._shard()

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        self._shard()  # state built lazily or restored unsharded joins the layout here
        updates = substep(self.opt, grads, params, extras)
        self._shard()
        # Left alone, XLA would keep the update sharded and the parameters with it
        # (ZeRO-3): gathering the update keeps them replicated, as in ZeRO-1.
        replicated = NamedSharding(self.layout.mesh, PartitionSpec())
        return {
            k: None if u is None else jax.lax.with_sharding_constraint(u, replicated)
            for k, u in updates.items()
        }

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad

    def hyperparameters(self) -> dict[str, Any]:
        return self.opt.hyperparameters()

    def _shard(self) -> None:
        for o in _optimizers(self.opt):
            for name, value in list(o.__dict__.items()):
                if type(value) is dict:
                    object.__setattr__(o, name, jax.tree.map(self._constrain, value))

    def _constrain(self, x: Any) -> Any:
        if isinstance(x, jax.Array) and x.ndim > 0:
            return jax.lax.with_sharding_constraint(x, self.layout.sharding(x))
        return x


def _optimizers(opt: Optimizer) -> list[Optimizer]:
    leaves = jax.tree_util.tree_leaves(opt.__dict__, is_leaf=lambda x: isinstance(x, Optimizer))
    return [opt] + [o for x in leaves if isinstance(x, Optimizer) for o in _optimizers(x)]
