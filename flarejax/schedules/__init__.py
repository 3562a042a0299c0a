"""Schedules: hyperparameters (most often the learning rate) as functions of the step.

Every function here builds a :data:`Schedule`, a callable ``f(count) -> jax.Array``
that works on Python ints and on (traced) integer arrays, elementwise, under
``jax.jit`` and ``jax.vmap``. With Python-number arguments the value is a weakly-typed
float, so it does not promote the bfloat16 arrays it scales. The optax-like
schedules take optax's argument names and defaults and return the same values.
"""

from ._base import Schedule
from ._basic import constant, exponential_decay, linear, polynomial
from ._cosine import cosine_decay
from ._join import join_schedules
from ._onecycle import cosine_onecycle, linear_onecycle
from ._piecewise import piecewise_constant, piecewise_interpolate
from ._sgdr import sgdr
from ._swa import swa_anneal
from ._warmup import warmup_constant, warmup_cosine_decay, warmup_exponential_decay
from ._wsd import trapezoid, warmup_stable_decay

__all__ = [
    "Schedule",
    "constant",
    "cosine_decay",
    "cosine_onecycle",
    "exponential_decay",
    "join_schedules",
    "linear",
    "linear_onecycle",
    "piecewise_constant",
    "piecewise_interpolate",
    "polynomial",
    "sgdr",
    "swa_anneal",
    "trapezoid",
    "warmup_constant",
    "warmup_cosine_decay",
    "warmup_exponential_decay",
    "warmup_stable_decay",
]
