"""The names the optimizer files import, from the core (``flarejax._core``)."""

from __future__ import annotations

from .._core.base import Optimizer, keep_type

__all__ = ["Optimizer", "keep_type"]
