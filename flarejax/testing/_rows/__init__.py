"""Registry entries grouped by topic: each module's ``entries()`` adds rows to the registry.

A module here holds the :class:`~flarejax.testing._registry.Entry` rows of one
group of classes, so that a new group touches its own file only.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["TOPICS", "entries"]

TOPICS = (
    "contrib",
    "loss_aware",
    "transforms",
    "averaging",
    "second_order",
    "preconditioned",
    "precision",
)


def entries() -> dict[str, Any]:
    """name -> Entry from every topic module, in ``TOPICS`` order."""
    found: dict[str, Any] = {}
    for topic in TOPICS:
        rows = importlib.import_module(f"{__name__}._{topic}").entries()
        if clash := found.keys() & rows.keys():
            raise ValueError(f"registry rows defined twice: {sorted(clash)}")
        found.update(rows)
    return found
