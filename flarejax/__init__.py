"""flarejax: stateful, object-oriented optimizers for JAX."""

from . import optim, schedules, sharding
from ._checkpoint import load, save
from ._recompiles import RecompileWarning

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
]
