"""Hyperparameter validators: see :mod:`flarejax._checks`, shared with the schedules."""

from .._checks import (
    check_nonnegative,
    check_positive,
    check_range,
    constructing,
    hyperparameter_names,
    under_construction,
    validate,
)

__all__ = [
    "check_nonnegative",
    "check_positive",
    "check_range",
    "constructing",
    "hyperparameter_names",
    "under_construction",
    "validate",
]
