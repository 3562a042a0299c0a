"""flarejax: stateful, object-oriented optimizers for JAX."""

import importlib
from typing import Any

from . import optim, schedules, sharding
from ._checkpoint import load, save
from ._core.recompiles import RecompileWarning

opt = optim

__version__ = "0.1.0"

__all__ = [
    "RecompileWarning",
    "__version__",
    "load",
    "opt",
    "optim",
    "save",
    "schedules",
    "sharding",
    "testing",
]


def __getattr__(name: str) -> Any:
    # flarejax.testing (the conformance kit) is imported on first use, so that
    # ``import flarejax`` does not load it, while ``flr.testing`` works as an attribute.
    if name == "testing":
        return importlib.import_module(f"{__name__}.testing")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
