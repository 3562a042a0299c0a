"""Registry rows: Shampoo and SOAP."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    return {}
