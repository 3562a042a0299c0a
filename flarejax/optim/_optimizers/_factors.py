"""Factor matrices of a parameter's axes, placed on the devices of those axes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from ._moments import Counted

__all__ = ["FactorPlacement", "place_factors"]


class FactorPlacement(Counted):
    """``init`` that shards factor matrices (named in ``factor_dicts``) by their axes.

    The statistics and bases of a parameter axis sharded over mesh axes are
    sharded by rows over the same mesh axes (see :func:`place_factors`); the
    jitted step keeps them there. ``factor_axes(key, shape)`` says which
    parameter axis each factor belongs to (``None``: leave them as built).
    """

    factor_dicts: tuple[str, ...] = ()

    def factor_axes(self, key: str, shape: tuple[int, ...]) -> list[int] | None:
        raise NotImplementedError

    def init(self, model: Any, **kwargs: Any) -> None:
        """Build the state (see :meth:`Optimizer.init`); shard the factors as their axes."""
        super().init(model, **kwargs)
        for name in self.factor_dicts:
            factors = getattr(self, name)
            placed = place_factors(factors, model, self.factor_axes)
            # Left as built (one device): the state stays the one init made, which
            # the first eager step donates, as the later ones (a single compilation).
            if placed is not factors:
                setattr(self, name, placed)

    # Run as written: super().init is the compiled call; the placement needs the
    # concrete model's shardings, outside it.
    init.__flarejax_functional__ = True  # type: ignore[attr-defined]
    init.__flarejax_entry__ = True  # type: ignore[attr-defined]


def place_factors(
    factors: dict[str, Any],
    model: Any,
    axes: Callable[[str, tuple[int, ...]], list[int] | None],
) -> dict[str, Any]:
    """``factors`` with each parameter's matrices sharded by the mesh axes of its own axes.

    ``factors[key]`` is a (nested) list of square matrices (or vectors: diagonal
    factors), ``axes(key, shape)`` the parameter axis of each, in flattening
    order. A factor of axis ``i`` of a parameter sharded as ``P(..., s_i, ...)``
    is placed as ``P(s_i, None)``: its rows split as the parameter's axis ``i``
    is. Parameters without a ``NamedSharding`` (one device, or not yet placed)
    leave their factors as they are; so do sides that the mesh axes do not
    divide. Returns ``factors`` itself when no factor was placed.
    """
    from jax.sharding import NamedSharding, PartitionSpec

    from ..._tree import flat_keys

    keys, leaves, _ = flat_keys(model)
    params = dict(zip(keys, leaves))
    out = dict(factors)
    for key, value in factors.items():
        param = params.get(key)
        if not isinstance(param, jax.Array) or isinstance(param, jax.core.Tracer):
            continue
        sharding = param.sharding
        if not isinstance(sharding, NamedSharding):
            continue
        owners = axes(key, tuple(param.shape))
        if owners is None:
            continue
        spec = tuple(sharding.spec) + (None,) * (param.ndim - len(sharding.spec))
        leaves_, treedef = jax.tree.flatten(value)
        placed = []
        for matrix, axis in zip(leaves_, owners, strict=True):
            names = spec[axis]
            size = 1
            for name in (names,) if isinstance(names, str) else names or ():
                size *= sharding.mesh.shape[name]
            # P() rather than P(None): equivalent, but a jitted step's outputs say P(),
            # and jax.jit compiles again for a spec written differently.
            spec_i = (
                PartitionSpec(names) if names and matrix.shape[0] % size == 0 else PartitionSpec()
            )
            placed.append(jax.device_put(matrix, NamedSharding(sharding.mesh, spec_i)))
        out[key] = jax.tree.unflatten(treedef, placed)
    return out if any(out[key] is not factors[key] for key in factors) else factors
