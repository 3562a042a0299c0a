"""The zoom line search (strong Wolfe conditions), on flat dicts of parameters.

A function, not an optimizer: :class:`~flarejax.optim.LBFGS` calls it once per
step. It follows ``optax.scale_by_zoom_linesearch`` step for step (same
criteria, same interpolation, same safeguards), so that the step sizes agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["LinesearchResult", "zoom_linesearch"]

Tree = dict[str, jax.Array]


class LinesearchResult(NamedTuple):
    """The accepted step size, the loss and gradient there, and diagnostics."""

    stepsize: jax.Array
    value: jax.Array
    grad: Tree
    num_steps: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array


class _Point(NamedTuple):
    """A step size on the line, the loss there and its slope along the line."""

    step: jax.Array
    value: jax.Array
    slope: jax.Array


class _Safe(NamedTuple):
    """The best step with sufficient decrease, in case curvature cannot be met."""

    step: jax.Array
    value: jax.Array
    grad: Tree


class _State(NamedTuple):
    iteration: jax.Array
    last: _Point  # the last step tried, and the gradient there
    grad: Tree
    decrease_error: jax.Array
    curvature_error: jax.Array
    interval_found: jax.Array
    done: jax.Array
    failed: jax.Array
    # The bracket: value(high) >= value(low), not necessarily high > low.
    low: _Point
    high: _Point
    cubic_ref: _Point  # its slope is unused
    safe: _Safe


def vdot(a: Tree, b: Tree) -> jax.Array:
    """:math:`\\sum_k \\langle a_k, b_k \\rangle` in the dicts' order, at full precision."""
    total: Any = 0
    for key, x in a.items():
        x = jnp.conj(x) if jnp.iscomplexobj(x) else x
        total = total + jnp.tensordot(x, b[key], x.ndim, precision=jax.lax.Precision.HIGHEST)
    return total


def _where(cond: jax.Array, x: Any, y: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(cond, a, b), x, y)


def _cast_like(tree: Any, like: Any) -> Any:
    return jax.tree.map(lambda t, o: t.astype(o.dtype), tree, like)


def zoom_linesearch(
    value_and_grad_fn: Callable[[Tree], tuple[jax.Array, Tree]],
    params: Tree,
    updates: Tree,
    value: jax.Array,
    grad: Tree,
    stepsize_guess: Any,
    *,
    max_linesearch_steps: int,
    max_stepsize: Any = None,
    tol: Any = 0.0,
    increase_factor: Any = 2.0,
    slope_rtol: Any = 1e-4,
    curv_rtol: Any = 0.9,
    approx_dec_rtol: Any = 1e-6,
    interval_threshold: Any = 1e-5,
) -> LinesearchResult:
    r"""A step size :math:`\eta` along ``updates`` :math:`u` from ``params`` :math:`w`.

    Searches for :math:`\eta` with sufficient decrease and small curvature,

    .. math::

        f(w + \eta u) \le f(w) + c_1 \eta \langle u, \nabla f(w) \rangle, \qquad
        |\langle \nabla f(w + \eta u), u \rangle| \le c_2 |\langle \nabla f(w), u \rangle|,

    first growing :math:`\eta` until a bracket is found (Algorithm 3.5 of
    Nocedal & Wright), then shrinking the bracket by cubic, quadratic or
    bisection steps (Algorithm 3.6). Close to a minimum, the decrease test
    switches to Hager & Zhang's approximate one (``approx_dec_rtol``). If
    ``max_linesearch_steps`` pass first, the best step with sufficient decrease
    found so far is returned (or the last one tried).
    """
    val_dtype = jnp.real(jnp.empty((), next(iter(params.values())).dtype)).dtype
    value = jnp.asarray(value)

    def on_line(stepsize: jax.Array) -> tuple[jax.Array, Tree, jax.Array]:
        step = {k: p + stepsize * updates[k] for k, p in params.items()}
        value_step, grad_step = value_and_grad_fn(step)
        slope_step = jnp.real(vdot({k: jnp.conj(g) for k, g in grad_step.items()}, updates))
        return value_step, grad_step, slope_step

    def decrease_error_of(
        stepsize: jax.Array, value_step: jax.Array, slope_step: jax.Array
    ) -> jax.Array:
        error = value_step - value - slope_rtol * stepsize * slope
        if approx_dec_rtol is not None:
            # Hager & Zhang's approximate Armijo test, used only near a minimum
            # where the exact test cannot resolve differences below sqrt(eps).
            approx = slope_step - (2 * slope_rtol - 1.0) * slope
            approx = jnp.maximum(approx, value_step - value - approx_dec_rtol * jnp.abs(value))
            error = jnp.minimum(approx, error)
        error = jnp.maximum(error, 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def curvature_error_of(slope_step: jax.Array) -> jax.Array:
        error = jnp.maximum(jnp.abs(slope_step) - curv_rtol * jnp.abs(slope), 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    # Each iteration evaluates the loss once, at a trial step chosen by the phase:
    # growing the step until a bracket is found, then zooming into the bracket.
    # Both phases' bookkeeping is cheap and selected with `where`, which compiles
    # much faster than `lax.cond` branches that each hold a loss evaluation.

    def bracket_trial(s: _State) -> tuple[jax.Array, jax.Array]:
        new = jnp.where(s.iteration == 0, stepsize_guess, increase_factor * s.last.step)
        if max_stepsize is None:
            return new, jnp.asarray(False)
        return jnp.minimum(new, max_stepsize), new >= max_stepsize

    def zoom_trial(s: _State) -> jax.Array:
        low, high, ref = s.low, s.high, s.cubic_ref
        delta = jnp.abs(high.step - low.step)
        left, right = jnp.minimum(high.step, low.step), jnp.maximum(high.step, low.step)
        cubic = _cubicmin(*low, high.step, high.value, ref.step, ref.value)
        use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
        quad = _quadmin(*low, high.step, high.value)
        use_quad = ~use_cubic & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
        middle = jnp.where(use_cubic, cubic, ref.step)
        middle = jnp.where(use_quad, quad, middle)
        return jnp.where(~use_cubic & ~use_quad, (low.step + high.step) / 2.0, middle)

    def bracket_update(
        s: _State, new: _Point, grad_new: Tree, dec: jax.Array, curv: jax.Array, max_reached: Any
    ) -> _State:
        """Algorithm 3.5 of Nocedal & Wright."""
        error = jnp.maximum(dec, curv)
        safe = _where(dec <= tol, _Safe(new.step, new.value, grad_new), s.safe)
        set_high = (dec > 0.0) | ((new.value >= s.last.value) & (s.iteration > 0))
        set_low = (new.slope >= 0.0) & ~set_high
        low, high = _where(set_low, (new, s.last), (s.last, new))
        interval_found = set_high | set_low | (error <= tol)
        done = (error <= tol) | (max_reached & ~interval_found)
        failed = (s.iteration + 1 >= max_linesearch_steps) & ~done
        return _State(
            s.iteration + 1, new, grad_new, dec, curv, interval_found, done, failed,
            low, high, low, safe,
        )  # fmt: skip

    def zoom_update(
        s: _State, mid: _Point, grad_mid: Tree, dec: jax.Array, curv: jax.Array
    ) -> _State:
        """Algorithm 3.6 of Nocedal & Wright."""
        error = jnp.maximum(dec, curv)
        better = (dec <= tol) & (mid.value < s.safe.value)
        safe = _where(better, _Safe(mid.step, mid.value, grad_mid), s.safe)
        done = error <= tol
        set_high_to_mid = (dec > 0.0) | (mid.value >= s.low.value)
        set_high_to_low = (mid.slope * (s.high.step - s.low.step) >= 0.0) & ~set_high_to_mid
        high = _where(set_high_to_low, s.low, _where(set_high_to_mid, mid, s.high))
        low = _where(set_high_to_mid, s.low, mid)
        cubic_ref = _where(set_high_to_mid | set_high_to_low, s.high, s.low)
        # Stop once the bracket is tiny, if a step with sufficient decrease exists;
        # otherwise keep going (very steep functions need very small steps).
        tiny = jnp.abs(s.high.step - s.low.step) <= interval_threshold
        failed = ((s.iteration + 1 >= max_linesearch_steps) | (tiny & (safe.step > 0.0))) & ~done
        return _State(
            s.iteration + 1, mid, grad_mid, dec, curv, s.interval_found, done, failed,
            low, high, cubic_ref, safe,
        )  # fmt: skip

    def fall_back_to_safe(s: _State) -> _State:
        use_safe = (s.safe.step > 0.0) | jnp.isinf(s.decrease_error)
        step, value_, grad_ = _where(use_safe, s.safe, _Safe(s.last.step, s.last.value, s.grad))
        return s._replace(last=s.last._replace(step=step, value=value_), grad=grad_)

    def body(s: _State) -> _State:
        bracket_step, max_reached = bracket_trial(s)
        step = jnp.where(s.interval_found, zoom_trial(s), bracket_step)
        value_step, grad_step, slope_step = on_line(step)
        trial = _Point(step, value_step, slope_step)
        dec = decrease_error_of(step, value_step, slope_step)
        curv = curvature_error_of(slope_step)
        new = _where(
            s.interval_found,
            zoom_update(s, trial, grad_step, dec, curv),
            bracket_update(s, trial, grad_step, dec, curv, max_reached),
        )
        new = _cast_like(new, s)
        return _cast_like(_where(new.failed, fall_back_to_safe(new), new), s)

    slope = jnp.real(vdot(updates, grad))
    zero = jnp.asarray(0.0, val_dtype)
    inf = jnp.asarray(jnp.inf, val_dtype)
    false = jnp.asarray(False)
    start = _Point(zero, value, slope)
    init = _State(
        jnp.asarray(0, jnp.int32), _Point(zero, value.astype(val_dtype), slope), grad, inf, inf,
        false, false, false, start, start, start, _Safe(zero, value, grad),
    )  # fmt: skip
    final = jax.lax.while_loop(lambda s: ~(s.done | s.failed), body, init)
    return LinesearchResult(
        final.last.step, final.last.value, final.grad, final.iteration,
        final.decrease_error, final.curvature_error,
    )  # fmt: skip


def _cubicmin(a: Any, fa: Any, fpa: Any, b: Any, fb: Any, c: Any, fc: Any) -> jax.Array:
    """The minimiser of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a.

    NaN when it has none (then it is not used). From scipy.optimize's line search.
    """
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    rhs = jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc])
    big_a, big_b = jnp.dot(d1, rhs, precision=jax.lax.Precision.HIGHEST) / denom
    radical = big_b * big_b - 3.0 * big_a * fpa
    return a + (-big_b + jnp.sqrt(radical)) / (3.0 * big_a)


def _quadmin(a: Any, fa: Any, fpa: Any, b: Any, fb: Any) -> jax.Array:
    """The minimiser of the quadratic through (a, fa), (b, fb) with slope fpa at a."""
    db = b - a
    big_b = (fb - fa - fpa * db) / (db**2)
    return a - fpa / (2.0 * big_b)
