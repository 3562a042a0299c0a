"""Hyperparameter checks for the optimizer files, from the core (``flarejax._core.checks``)."""

from __future__ import annotations

from .._core.checks import check_nonnegative, check_positive, check_range

__all__ = ["check_nonnegative", "check_positive", "check_range"]
