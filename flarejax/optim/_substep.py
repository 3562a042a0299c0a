"""Stepping a member optimizer, for the combinators and wrappers (``flarejax._core.step``)."""

from __future__ import annotations

from .._core.step import substep

__all__ = ["substep"]
