"""Measuring the updates as they pass, to read after a step: ``Snapshot``, ``Monitor``, EMAs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from .._base import Optimizer
from .._checks import check_range
from .._optimizers._mu_dtype import as_mu_dtype
from .._substep import substep

__all__ = ["MeasureWithEMA", "Monitor", "Snapshot"]

Measure = Callable[[dict[str, jax.Array]], Any]


def _measured(measure: Measure, updates: dict[str, jax.Array]) -> Any:
    """``measure(updates)`` as a tree of arrays (a Python number becomes a scalar array)."""
    return jax.tree.map(jnp.asarray, measure(dict(updates)))


def _check_measure(name: str, measure: Any) -> None:
    if not callable(measure):
        raise TypeError(
            f"{name} must be a function of the updates (a dict from dotted key to "
            f"array), got {type(measure).__name__}"
        )


class Snapshot(Optimizer):
    r"""Pass the updates on unchanged, keeping a measurement of them.

    .. math::

        u = g, \qquad \texttt{measurements[name]} = m(g)

    After a step, ``opt.measurements[measure_name]`` holds :math:`m` of the
    updates that reached it: in a :class:`Chain`, the gradients as the members
    before it left them, e.g. the norm before clipping::

        chain = Chain(Snapshot("norm", optax.tree.norm), ClipByGlobalNorm(1.0), SGD(0.1))
        model = chain(model, grads)
        chain.opts[0].measurements["norm"]

    It is state, so a jitted step returns it with the optimizer. Equal to
    ``optax.snapshot`` (read there with ``optax.tree.get(state, name)``), but
    :math:`m` takes the updates as a dict from dotted key to array, and
    ``opt.init(model)`` measures zero updates where optax measures the
    parameters. See :class:`Monitor` for several (and stateful) measurements.

    Parameters
    ----------
    measure_name : str
        The key of the measurement.
    measure : function
        :math:`m`: the updates (a dict from dotted key to array) to a tree of arrays.
    """

    def __init__(self, measure_name: str, measure: Measure) -> None:
        _check_measure("measure", measure)
        self.measure_name = measure_name
        self.measure = measure
        self.measurements: dict[str, Any] = {}

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        self.measurements[self.measure_name] = _measured(self.measure, grads)
        return grads

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad


class MeasureWithEMA(Optimizer):
    r"""Pass the updates on unchanged, keeping an exponential moving average of a measurement.

    .. math::

        a_t = \beta\, a_{t-1} + (1 - \beta)\, m(g_t), \qquad
        \texttt{measurements["ema"]} = a_t / (1 - \beta^t)

    (:math:`a_t` without the division when ``debias=False``). Alone in a
    :class:`Chain` or as a measure of :class:`Monitor`, e.g. how often the
    gradient is clipped: ``MeasureWithEMA(lambda u: optax.tree.norm(u) > 1.0,
    0.99)``. Equal to ``optax.measure_with_ema`` inside ``optax.monitor``; a
    measurement that is not a float (a bool, an int) is averaged in float32,
    where optax's average changes dtype after its first step.

    Parameters
    ----------
    measure : function
        :math:`m`: the updates (a dict from dotted key to array) to a tree of arrays.
    decay : float
        :math:`\beta`, in [0, 1).
    debias : bool
        Divide by :math:`1 - \beta^t`, undoing the bias towards the zero start.
    accumulator_dtype : dtype, optional
        The dtype of :math:`a` (``None``: the measurement's).
    """

    def __init__(
        self,
        measure: Measure,
        decay: float,
        debias: bool = True,
        accumulator_dtype: Any = None,
    ) -> None:
        _check_measure("measure", measure)
        check_range("decay", decay, 0, 1)
        self.measure = measure
        self.decay = decay
        self.debias = debias
        self.accumulator_dtype = as_mu_dtype(accumulator_dtype, "accumulator_dtype")
        self.count = jnp.zeros((), jnp.int32)
        self.ema: dict[str, Any] = {}
        self.measurements: dict[str, Any] = {}

    def _dtype(self, x: jax.Array) -> Any:
        if self.accumulator_dtype is not None:
            return self.accumulator_dtype
        return x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else jnp.float32

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        value = _measured(self.measure, grads)
        if "ema" not in self.ema:
            self.ema["ema"] = jax.tree.map(lambda x: jnp.zeros(x.shape, self._dtype(x)), value)
        new = jax.tree.map(
            lambda a, x: (self.decay * a + (1 - self.decay) * x).astype(a.dtype),
            self.ema["ema"],
            value,
        )
        # Saturates rather than wraps, as optax.safe_increment.
        self.count = jnp.where(self.count == jnp.iinfo(jnp.int32).max, self.count, self.count + 1)
        self.ema["ema"] = new
        if self.debias:
            scale = 1 - self.decay**self.count
            new = jax.tree.map(lambda a: a / jnp.asarray(scale, a.dtype), new)
        self.measurements["ema"] = new
        return grads

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad


class Monitor(Optimizer):
    r"""Pass the updates on unchanged, keeping several measurements of them, some stateful.

    .. math::

        u = g, \qquad \texttt{measurements[name]} = m_{\text{name}}(g)

    Each measure is a function of the updates (as for :class:`Snapshot`) or a
    stateful measure, an optimizer with a ``measurements`` dict of one entry,
    such as :class:`MeasureWithEMA`, which steps on the updates::

        Chain(
            Monitor({"norm": optax.tree.norm,
                     "clipped": MeasureWithEMA(lambda u: optax.tree.norm(u) > 1.0, 0.9)}),
            ClipByGlobalNorm(1.0),
            SGD(0.1),
        )

    After a step, ``opt.measurements[name]`` holds each measurement (state: a
    jitted step returns it with the optimizer). Equal to ``optax.monitor``;
    the functions take the updates as a dict from dotted key to array.

    Parameters
    ----------
    measures : dict
        Name -> function of the updates, or stateful measure.
    """

    def __init__(self, measures: Mapping[str, Measure | Optimizer]) -> None:
        if not isinstance(measures, Mapping):
            raise TypeError(
                "measures must be a dict from name to a function of the updates or a "
                f"stateful measure (MeasureWithEMA), got {type(measures).__name__}"
            )
        for name, m in measures.items():
            if not isinstance(m, Optimizer):
                _check_measure(f"measures[{name!r}]", m)
            elif not isinstance(getattr(m, "measurements", None), dict):
                raise TypeError(
                    f"measures[{name!r}] is a {type(m).__name__}, which keeps no "
                    "measurements; a stateful measure is e.g. MeasureWithEMA"
                )
        # Functions are static, stateful measures children: two attributes.
        self.functions = tuple((n, m) for n, m in measures.items() if not isinstance(m, Optimizer))
        self.stateful_names = tuple(n for n, m in measures.items() if isinstance(m, Optimizer))
        self.stateful = tuple(m for m in measures.values() if isinstance(m, Optimizer))
        self.names = tuple(measures)
        self.measurements: dict[str, Any] = {}

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array]:
        found = {n: _measured(m, grads) for n, m in self.functions}
        for name, m in zip(self.stateful_names, self.stateful):
            substep(m, grads, params, extras)
            (found[name],) = getattr(m, "measurements").values()  # noqa: B009
        for name in self.names:
            self.measurements[name] = found[name]
        return grads

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
