"""What the Adam family shares: the step counter, moment arithmetic and one base class.

The pure helpers below are the lines every adaptive-moment optimizer writes:
an exponential moving average, its bias correction and Nesterov's variant of it.
:class:`Counted` is the one way an optimizer keeps its step counter ``self.t``,
and :class:`AdaptiveMoments` is the base of the Adam family: it validates the
shared hyperparameters once, owns the first moment ``m``, the second moment
``v`` and ``t``, and builds them lazily. A subclass writes only its direction
in ``call_param``, as in the tutorial.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ..._core.per_step import once_per_step
from ..._jax import with_weak_type
from .._base import Optimizer
from .._checks import check_nonnegative, check_range
from ._complex import real_like
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = [
    "AdaptiveMoments",
    "Counted",
    "adam_direction",
    "debias",
    "ema",
    "nesterov_debias",
    "new_counter",
]


def new_counter() -> jax.Array:
    """A step counter at zero: a ``uint32`` array, so that a jitted step compiles once."""
    return jnp.zeros((), jnp.uint32)


def ema(average: jax.Array, x: Any, decay: Any) -> jax.Array:
    """The exponential moving average :math:`\\beta\\, a + (1 - \\beta)\\, x`."""
    if not (_is_weak_scalar(decay) and _is_array(average) and _is_array(x)):
        return decay * average + (1 - decay) * x
    # The coefficients in the dtypes that promotion gives them, once per step.
    return _coefficient(decay, average, _same) * average + _coefficient(decay, x, _one_minus) * x


def debias(average: jax.Array, decay: Any, t: jax.Array) -> jax.Array:
    """Bias correction of an average started at zero: :math:`a_t / (1 - \\beta^t)`."""
    # Multiplied by the inverse, computed once per step: XLA rewrites a division
    # by a scalar so where it sees one per parameter, not where it is shared.
    inverse = once_per_step(_inverse_correction, decay, t)
    if _is_weak_scalar(inverse) and _is_array(average):
        inverse = _coefficient(inverse, average, _same)
    return average * inverse


def _inverse_correction(decay: Any, t: jax.Array) -> Any:
    return 1 / (1 - decay**t)


def adam_direction(
    m: jax.Array, v: jax.Array, b1: Any, b2: Any, t: jax.Array, eps: Any, eps_root: Any, scale: Any
) -> jax.Array:
    """``scale`` times Adam's direction :math:`\\hat m_t / (\\sqrt{\\hat v_t + \\varepsilon_{root}}
    + \\varepsilon)`, from the moments ``m`` and ``v`` of step ``t``.

    Computed as
    :math:`a\\, m / (\\sqrt{v + \\varepsilon_{root} / c_2} + \\varepsilon / \\sqrt{c_2})`
    with :math:`c_i = 1 / (1 - \\beta_i^t)` and :math:`a = \\mathrm{scale}\\, c_1 / \\sqrt{c_2}`:
    the same number, but the bias corrections and the scale become three scalars
    computed once per step, and each parameter's update is six operations, not
    eight. Every operation per parameter costs compile time in proportion to the
    number of parameters (the benchmarks' first-call figure).
    """
    a, e, r = once_per_step(_adam_scalars, b1, b2, t, eps, eps_root, scale)
    if _is_array(v):
        e, r = (_coefficient(x, v, _same) if _is_weak_scalar(x) else x for x in (e, r))
    d = m / (jnp.sqrt(v + r) + e)
    if _is_weak_scalar(a) and _is_array(d):
        a = _coefficient(a, d, _same)
    return a * d


def _adam_scalars(b1: Any, b2: Any, t: jax.Array, eps: Any, eps_root: Any, scale: Any) -> Any:
    c1, c2 = _inverse_correction(b1, t), _inverse_correction(b2, t)
    root = jnp.sqrt(c2)
    return scale * c1 / root, eps / root, eps_root / c2


def _same(x: Any) -> Any:
    return x


def _one_minus(x: Any) -> Any:
    return 1 - x


def _is_weak_scalar(x: Any) -> bool:
    """A Python number or a weakly-typed 0-d array: promotion gives it its partner's dtype."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return True
    return isinstance(x, (jax.Array, jax.core.Tracer)) and x.ndim == 0 and jax.typeof(x).weak_type


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, jax.core.Tracer))


def _coefficient(scalar: Any, like: jax.Array, fn: Any) -> Any:
    """``fn(scalar)`` cast to ``like``'s dtype and weak type, as ``fn(scalar) * like``
    would cast it, computed once per step."""
    return once_per_step(_cast, fn, scalar, like.dtype, jax.typeof(like).weak_type)


def _cast(fn: Any, scalar: Any, dtype: Any, weak: bool) -> Any:
    return with_weak_type(fn(scalar), dtype, weak)


def nesterov_debias(m: jax.Array, grad: jax.Array, b1: Any, t: jax.Array) -> jax.Array:
    """NAdam's first moment: the next momentum, each term corrected for its own step.

    :math:`\\beta_1\\, m_t / (1 - \\beta_1^{t+1}) + (1 - \\beta_1)\\, g_t / (1 - \\beta_1^t)`.
    """
    return b1 * debias(m, b1, t + 1) + (1 - b1) * debias(grad, b1, t)


class Counted(Optimizer):
    """An optimizer with a step counter: ``call_model`` advances ``self.t`` by one.

    Set ``self.t = new_counter()`` in ``__init__``; a subclass that overrides
    ``call_model`` calls ``super().call_model(grads)`` first.
    """

    t: jax.Array

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.t = self.t + 1
        return grads


class AdaptiveMoments(Counted, StateDtype):
    """The base of the Adam family: hyperparameters, ``m``, ``v``, ``t``, lazy state.

    ``__init__`` checks and stores ``learning_rate``, ``b1``, ``b2``, ``eps``
    and (when given) ``eps_root``, ``mu_dtype`` normalized by
    :func:`~flarejax.optim._optimizers._mu_dtype.as_mu_dtype`, and ``state_dtype``
    (:class:`~flarejax.optim._optimizers._mu_dtype.StateDtype`). ``_build`` creates a
    parameter's first moment (zeros in ``mu_dtype``) and real second moment
    (``initial`` everywhere) the first time ``call_param`` sees it. A subclass
    whose second statistic is not a second moment names its dict in
    ``second_moment`` (AdaBelief's ``s``, Adamax's ``u``).
    """

    second_moment = "v"
    m: dict[str, jax.Array]
    v: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: Any,
        b1: Any,
        b2: Any,
        eps: Any,
        eps_root: Any = None,
        mu_dtype: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_nonnegative("eps", eps)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        if eps_root is not None:
            check_nonnegative("eps_root", eps_root)
            self.eps_root = eps_root
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.init_state_dtype(state_dtype)
        self.m: dict[str, jax.Array] = {}
        setattr(self, self.second_moment, {})
        self.t = new_counter()

    def _build(self, key: str, grad: jax.Array, initial: float = 0.0) -> None:
        if key not in self.m:
            # In state_dtype, from whichever path the gradient comes (a step casts it already).
            grad = grad.astype(self.compute_dtype(grad) or grad.dtype)
            dtype = moment_dtype(self.mu_dtype, grad)
            self.m[key] = jnp.full_like(grad, initial, dtype=dtype)
            # |g|^2 is real, for complex g too.
            getattr(self, self.second_moment)[key] = real_like(grad, initial)

    def build_state(self, key: str, grad: jax.Array) -> None:
        """Build the state of ``key`` as a first step would; what ``init`` calls.

        Used by ``init`` only for a class that sets ``builds_state_by_key = True``
        in its own body: one whose step builds nothing but ``_build``'s state.
        """
        self._build(key, grad)
