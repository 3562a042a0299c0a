"""Key patterns for the optimizer files, from the core (``flarejax._core.patterns``)."""

from __future__ import annotations

from .._core.patterns import Pattern, matches, normalize_patterns, require_match

__all__ = ["Pattern", "matches", "normalize_patterns", "require_match"]
