"""A conformance kit for flarejax optimizers: ``check_optimizer`` and what it runs on.

Every flarejax optimizer promises the same things: eager and ``jax.jit`` steps
agree; ``opt.init(model)`` gives the state a lazy first step would build and the
jitted step then compiles once; changing a float hyperparameter does not
recompile; parameters keep their dtype; non-parameter leaves and parameters with
``None`` gradients are left alone; a ``state_dict`` round trip continues bit for
bit; ``to_optax`` gives the same numbers. :func:`check_optimizer` checks all of
them (and, optionally, agreement with a reference and convergence) for any
optimizer, built-in or your own, and raises :class:`ConformanceError` naming the
property, the parameter key and the numbers of the first one that fails::

    import flarejax as flr
    from flarejax.testing import check_optimizer

    class MySGD(flr.optim.Optimizer):
        def __init__(self, learning_rate: float):
            self.learning_rate = learning_rate

        def call_param(self, key, grad, **_):
            return self.learning_rate * grad

    def test_my_sgd():
        check_optimizer(lambda: MySGD(1e-3))

Optimizers that need the loss (``PolyakSGD``, ``ReduceLROnPlateau``) take
``extras=loss_extras``; line searches (``LBFGS``) ``extras=linesearch_extras``.
"""

from ._check import PROPERTIES, Report, check_optimizer
from ._compare import ConformanceError
from ._models import (
    default_models,
    linesearch_extras,
    loss_extras,
    params_only,
    quadratic,
    rosenbrock,
    rosenbrock_start,
)

ConformanceError.__module__ = __name__
Report.__module__ = __name__

__all__ = [
    "PROPERTIES",
    "ConformanceError",
    "Report",
    "check_optimizer",
    "default_models",
    "linesearch_extras",
    "loss_extras",
    "params_only",
    "quadratic",
    "rosenbrock",
    "rosenbrock_start",
]
