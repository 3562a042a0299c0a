"""flarejax: stateful, object-oriented optimizers for JAX."""

from . import optim, schedules

opt = optim

__version__ = "0.1.0"

__all__ = ["__version__", "opt", "optim", "schedules"]
