"""Registry rows: bfloat16 training: stochastic rounding."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    return {}
