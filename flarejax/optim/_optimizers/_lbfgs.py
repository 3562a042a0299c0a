"""L-BFGS with a zoom line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_positive, check_range
from .._loss_fn import minimize_with_loss_fn, of_params, one_of, zero_loss
from ._complex import sum_abs_sq
from ._linesearch import vdot, zoom_linesearch
from ._moments import Counted, new_counter

__all__ = ["LBFGS"]

Tree = dict[str, jax.Array]


class LBFGS(Counted):
    r"""L-BFGS: a quasi-Newton method from the last ``memory_size`` steps.

    With :math:`s_i = \theta_{i+1} - \theta_i` and :math:`y_i = g_{i+1} - g_i`
    for the last :math:`m` steps, the direction is :math:`d_t = -H_t g_t`, with
    the inverse-Hessian estimate :math:`H_t = H_{t,t}` of the two-loop recursion
    (Algorithms 7.4 and 7.5 of Nocedal & Wright):

    .. math::

        H_{t,t-m} &= \gamma_t I, \qquad
        H_{t,i+1} = V_i^\top H_{t,i} V_i + \rho_i s_i s_i^\top, \qquad
        V_i = I - \rho_i y_i s_i^\top, \qquad \rho_i = 1 / (y_i^\top s_i) \\
        \gamma_t &= \frac{s_{t-1}^\top y_{t-1}}{y_{t-1}^\top y_{t-1}}
        \quad (\gamma_0 = \min(1, 1 / \lVert g_0 \rVert)), \qquad
        \theta_{t+1} = \theta_t + \eta_t\, \alpha\, d_t

    where :math:`\alpha` is ``learning_rate`` (1 when ``None``) and
    :math:`\eta_t` the step size found by a zoom line search enforcing the
    strong Wolfe conditions (Algorithms 3.5 and 3.6 of Nocedal & Wright):

    .. math::

        f(\theta_t + \eta \alpha d_t) \le f(\theta_t) + c_1 \eta \alpha\, g_t^\top d_t,
        \qquad |\nabla f(\theta_t + \eta \alpha d_t)^\top d_t| \le c_2 |g_t^\top d_t|.

    Without a line search, :math:`\eta_t = 1`.

    The line search evaluates the loss at trial points, so each step needs the
    loss at the current model and a function computing it, like the closure of
    ``torch.optim.LBFGS.step``::

        loss, grads = jax.value_and_grad(loss_fn)(model)
        model = opt(model, grads, loss=loss, loss_fn=loss_fn)
        # or, equivalently:
        model, loss = opt.minimize(loss_fn, model)

    ``loss_fn`` maps a model (same structure) to a scalar; eagerly, pass the
    same function every step (it is part of the compiled call's cache key).
    optax's names ``value_fn=`` (and, through ``to_optax``, ``value=``) are
    accepted for ``loss_fn=`` (``loss=``). The hooks receive the loss as
    ``loss=`` and, as ``value_fn=``, the loss as a function of the flat dict of
    parameters. ``opt.init(model)`` needs
    neither. Equal to ``optax.lbfgs`` (with its default zoom line search);
    ``torch.optim.LBFGS`` differs: it iterates up to ``max_iter`` times per
    ``step`` and its default has no line search.

    Parameters
    ----------
    learning_rate : float or schedule, optional
        :math:`\alpha`, scaling the direction before the line search.
    memory_size : int
        :math:`m`, the number of :math:`(s_i, y_i)` pairs kept.
    scale_init_precond : bool
        Start the recursion from :math:`\gamma_t I` (else :math:`I`).
    linesearch : {"zoom", None}
        The line search, or none (then ``loss``/``loss_fn`` are not needed).
    max_linesearch_steps : int
        Trial points per step, at most.
    max_learning_rate : float, optional
        An upper bound on :math:`\eta_t`.
    tol : float
        Absolute tolerance on both Wolfe conditions.
    increase_factor : float
        Growth of :math:`\eta` while searching for a bracket.
    slope_rtol, curv_rtol : float
        :math:`c_1` (sufficient decrease) and :math:`c_2` (curvature) of the
        Wolfe conditions; ``curv_rtol=inf`` drops the curvature condition.
    approx_dec_rtol : float, optional
        Switch to Hager & Zhang's approximate decrease test when the loss is
        within this relative tolerance of the initial loss; ``None``: never.
    stepsize_precision : float
        Accept a step with sufficient decrease once the bracket is this small.
    initial_guess_strategy : {"one", "keep"}
        The first trial step: 1, or the previous step's :math:`\eta`.

    References
    ----------
    Nocedal & Wright, "Numerical Optimization", 2nd ed., Springer 2006,
    Algorithms 3.5, 3.6 (line search) and 7.4, 7.5 (L-BFGS).
    Liu & Nocedal, "On the limited memory BFGS method for large scale
    optimization", Mathematical Programming 45, 1989.
    Hager & Zhang, "Algorithm 851: CG_DESCENT", ACM TOMS 32, 2006.
    """

    def __init__(
        self,
        learning_rate: float | Callable[[Any], Any] | None = None,
        memory_size: int = 10,
        scale_init_precond: bool = True,
        linesearch: str | None = "zoom",
        *,
        max_linesearch_steps: int = 20,
        max_learning_rate: float | None = None,
        tol: float = 0.0,
        increase_factor: float = 2.0,
        slope_rtol: float = 1e-4,
        curv_rtol: float = 0.9,
        approx_dec_rtol: float | None = 1e-6,
        stepsize_precision: float = 1e-5,
        initial_guess_strategy: str = "one",
    ) -> None:
        _check_int("memory_size", memory_size)
        _check_int("max_linesearch_steps", max_linesearch_steps)
        if linesearch not in ("zoom", None):
            raise ValueError(f"linesearch must be 'zoom' or None, got {linesearch!r}")
        if initial_guess_strategy not in ("one", "keep"):
            raise ValueError(
                f"initial_guess_strategy must be 'one' or 'keep', got {initial_guess_strategy!r}"
            )
        check_nonnegative("learning_rate", learning_rate)
        check_positive("max_learning_rate", max_learning_rate)
        check_nonnegative("tol", tol)
        check_range("increase_factor", increase_factor, 1, float("inf"), lo_open=True)
        check_range("slope_rtol", slope_rtol, 0, 1, lo_open=True)
        check_range("curv_rtol", curv_rtol, 0, float("inf"), lo_open=True, hi_open=False)
        check_nonnegative("approx_dec_rtol", approx_dec_rtol)
        check_nonnegative("stepsize_precision", stepsize_precision)
        self.learning_rate = learning_rate
        self.memory_size = memory_size
        self.scale_init_precond = scale_init_precond
        self.linesearch = linesearch
        self.max_linesearch_steps = max_linesearch_steps
        self.max_learning_rate = max_learning_rate
        self.tol = tol
        self.increase_factor = increase_factor
        self.slope_rtol = slope_rtol
        self.curv_rtol = curv_rtol
        self.approx_dec_rtol = approx_dec_rtol
        self.stepsize_precision = stepsize_precision
        self.initial_guess_strategy = initial_guess_strategy
        # Per parameter: the last parameters and gradients, and the memory of
        # their differences, one row per step in a ring buffer of memory_size.
        self.prev_params: dict[str, jax.Array] = {}
        self.prev_grads: dict[str, jax.Array] = {}
        self.s: dict[str, jax.Array] = {}
        self.y: dict[str, jax.Array] = {}
        self.rho = jnp.zeros(memory_size)  # 1 / <s_i, y_i>, over all parameters
        self.stepsize = jnp.ones(())  # the line search's last step size
        self.linesearch_steps = jnp.zeros((), jnp.int32)
        self.t = new_counter()

    def call_model(
        self,
        grads: Tree,
        *,
        params: Tree,
        loss: Any = None,
        value_fn: Callable[[Tree], jax.Array] | None = None,
        **_: Any,
    ) -> Tree:
        count = jnp.asarray(self.t, jnp.int32)
        grads = super().call_model(grads)
        for key, g in grads.items():
            if key not in self.s:
                p = params[key]
                self.s[key] = jnp.zeros((self.memory_size, *p.shape), p.dtype)
                self.y[key] = jnp.zeros((self.memory_size, *p.shape), p.dtype)
                self.prev_params[key] = jnp.zeros_like(p)
                self.prev_grads[key] = jnp.zeros_like(g)

        # Store the last step's (s, y) pair; nothing is known before step 1.
        s = {k: params[k] - self.prev_params[k] for k in grads}
        y = {k: g - self.prev_grads[k] for k, g in grads.items()}
        sy = jnp.real(vdot(y, s))
        rho = jnp.where(sy == 0.0, 0.0, 1.0 / sy)
        s, y, rho = jax.tree.map(lambda x: jnp.where(count > 0, x, jnp.zeros_like(x)), (s, y, rho))
        last = (count - 1) % self.memory_size
        for k in grads:
            self.s[k] = self.s[k].at[last].set(s[k])
            self.y[k] = self.y[k].at[last].set(y[k])
            self.prev_params[k], self.prev_grads[k] = params[k], grads[k]
        self.rho = self.rho.at[last].set(rho)

        gamma: Any = 1.0
        if self.scale_init_precond:
            yy = _sum(sum_abs_sq(x) for x in y.values())
            gamma = jnp.where(yy > 0.0, jnp.real(vdot(y, s)) / yy, 1.0)
            # No pair yet at step 0: a step of length at most 1.
            g_sg = jax.lax.stop_gradient(grads)
            g_norm = jnp.sqrt(_sum(sum_abs_sq(x) for x in g_sg.values()))
            gamma = jnp.where(count > 0, gamma, jnp.minimum(1.0, 1.0 / g_norm))
        direction = self.precondition(grads, gamma, count % self.memory_size)

        if self.learning_rate is None:
            direction = {k: -1.0 * d for k, d in direction.items()}
        else:
            lr = -self.current(self.learning_rate)
            direction = {k: jnp.asarray(lr, d.dtype) * d for k, d in direction.items()}
        if self.linesearch is None:
            return {k: -d for k, d in direction.items()}

        if loss is None or value_fn is None:
            raise ValueError(
                "LBFGS.call_model needs loss= and value_fn= (the loss as a function of the "
                "flat dict of parameters), which LBFGS.__call__ builds from loss_fn="
            )
        guess = 1.0 if self.initial_guess_strategy == "one" else self.stepsize
        found = zoom_linesearch(
            jax.value_and_grad(value_fn),
            params,
            direction,
            loss,
            grads,
            guess,
            max_linesearch_steps=self.max_linesearch_steps,
            max_stepsize=self.max_learning_rate,
            tol=self.tol,
            increase_factor=self.increase_factor,
            slope_rtol=self.slope_rtol,
            curv_rtol=self.curv_rtol,
            approx_dec_rtol=self.approx_dec_rtol,
            interval_threshold=self.stepsize_precision,
        )
        self.stepsize = found.stepsize.astype(self.stepsize.dtype)
        self.linesearch_steps = found.num_steps.astype(jnp.int32)
        # The update is subtracted from the parameters.
        return {k: -(found.stepsize * d) for k, d in direction.items()}

    def precondition(self, grads: Tree, gamma: Any, start: jax.Array) -> Tree:
        r""":math:`H_t g`: the two-loop recursion over the memory, oldest pair first."""
        s = {k: self.s[k] for k in grads}
        y = {k: self.y[k] for k in grads}
        rho = self.rho
        order = (start + jnp.arange(self.memory_size)) % self.memory_size

        def newest_first(v: Tree, i: jax.Array) -> tuple[Tree, jax.Array]:
            alpha = rho[i] * jnp.real(vdot({k: x[i] for k, x in s.items()}, v))
            return {k: (x + -alpha * y[k][i]).astype(x.dtype) for k, x in v.items()}, alpha

        v, alphas = jax.lax.scan(newest_first, grads, order, reverse=True)
        v = {k: gamma * x for k, x in v.items()}

        def oldest_first(v: Tree, i_alpha: tuple[jax.Array, jax.Array]) -> tuple[Tree, None]:
            i, alpha = i_alpha
            beta = rho[i] * jnp.real(vdot({k: x[i] for k, x in y.items()}, v))
            return {k: (x + (alpha - beta) * s[k][i]).astype(x.dtype) for k, x in v.items()}, None

        v, _ = jax.lax.scan(oldest_first, v, (order, alphas))
        return v

    def __call__(
        self,
        model: Any,
        grads: Any,
        *,
        loss: Any = None,
        loss_fn: Any = None,
        value_fn: Any = None,
        **extras: Any,
    ) -> Any:
        """One step: ``opt(model, grads, loss=loss, loss_fn=loss_fn)``.

        ``loss`` is the loss at ``model`` and ``loss_fn(model) -> loss`` the
        function the line search evaluates; both are required unless
        ``linesearch=None``. ``value_fn=`` (optax's name) is accepted for
        ``loss_fn=``.
        """
        loss_fn = one_of(
            loss_fn,
            value_fn,
            "LBFGS got both loss_fn= and value_fn= (optax's name for the same function): "
            "pass one of them",
        )
        if self.linesearch is None:
            if loss is not None:
                extras["loss"] = loss
            return super().__call__(model, grads, **extras)
        if loss is None or loss_fn is None:
            missing = " and ".join(
                name for name, v in (("loss", loss), ("loss_fn", loss_fn)) if v is None
            )
            raise ValueError(
                f"LBFGS's line search needs loss= (the loss at the model) and loss_fn= "
                f"(a function mapping the model to the loss; optax's value_fn= is "
                f"accepted for it); {missing} missing: call "
                f"opt(model, grads, loss=loss, loss_fn=loss_fn) or opt.minimize(loss_fn, model)"
            )
        return super().__call__(
            model, grads, loss=loss, value_fn=of_params(loss_fn, model), **extras
        )

    def minimize(
        self,
        loss_fn: Callable[..., Any],
        model: Any,
        *args: Any,
        has_aux: bool = False,
        **extras: Any,
    ) -> tuple[Any, Any]:
        """One step on ``loss_fn(model, *args)``: ``model, loss = opt.minimize(loss_fn, model)``.

        As :meth:`Optimizer.minimize`, and the line search evaluates
        ``loss_fn(·, *args)`` (its first output with ``has_aux=True``).
        """
        model, value, _ = minimize_with_loss_fn(self, loss_fn, model, args, has_aux, extras)
        return model, value

    def init(self, model: Any, **extras: Any) -> None:
        """Build the state ahead of the first step; ``loss``/``loss_fn`` are not needed."""
        # The state does not depend on the loss: placeholders let the step be traced.
        extras.setdefault("loss", jnp.zeros(()))
        extras.setdefault("loss_fn", zero_loss)
        super().init(model, **extras)


def _sum(values: Any) -> Any:
    # Left to right from 0, in the parameters' order, as optax sums over leaves.
    total: Any = 0
    for v in values:
        total = total + jnp.sum(v)
    return total


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
