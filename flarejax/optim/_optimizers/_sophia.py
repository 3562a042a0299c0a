"""Sophia: momentum over a clipped diagonal-Hessian preconditioner, estimated every k steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .._checks import check_nonnegative, check_positive
from .._loss_fn import minimize_with_loss_fn, of_params, one_of, zero_loss
from .._patterns import Pattern
from ._complex import reject_complex
from ._decay import DecoupledDecay
from ._keys import as_key
from ._moments import AdaptiveMoments, debias, ema

__all__ = ["Sophia"]


def _lowest_dtype(params: dict[str, jax.Array]) -> Any:
    """The least precise dtype among the parameters, as optax casts its random signs."""
    return min((p.dtype for p in params.values()), key=lambda d: jnp.finfo(d).bits)


class Sophia(AdaptiveMoments, DecoupledDecay):
    r"""Sophia: momentum divided by a diagonal-Hessian estimate, clipped element-wise.

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        \hat m_t = m_t / (1 - \beta_1^t) \\
        u_t &= \mathrm{clip}\big(\hat m_t / \max(\gamma\, h_{t-1}, \varepsilon),
            -\rho, \rho\big) \\
        \theta_t &= \theta_{t-1} - \eta\, (u_t + \lambda\, \theta_{t-1}) \\
        h_t &= \beta_2 h_{t-1} + (1 - \beta_2)\, z \odot (\nabla^2 f(\theta_{t-1})\, z)
            \quad \text{every } k \text{ steps (from the first), else } h_{t-1}

    The last line is Hutchinson's estimate of the Hessian's diagonal (Sophia-H),
    with Rademacher signs :math:`z`: one Hessian-vector product, through the
    loss function of the step. Pass it as ``loss_fn=``, a function of the
    model (``opt.minimize`` does), or as optax's ``obj_fn=``:

    .. code-block:: python

        model, loss = opt.minimize(loss_fn, model, x, y)  # eagerly

        @jax.jit
        def train_step(opt, model, x, y):
            objective = lambda m: loss_fn(m, x, y)
            loss, grads = jax.value_and_grad(objective)(model)
            return opt, opt(model, grads, loss_fn=objective), loss

    The estimate uses the Hessian at the step's parameters, :math:`h` in the
    update is the one before it. The random state ``key`` is a JAX key, split
    at each estimate into the next key and a sample key, which is split into
    one key per parameter (in the model's leaf order), exactly as optax does:
    the signs equal optax's for the same key. Equal to ``optax.contrib.sophia``
    with its default ``hessian_diagonal_fn`` (Hutchinson's estimator, whose
    ``random_seed`` is ``key`` here); torch.optim has no Sophia. Complex
    parameters raise a ``TypeError``.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Decay rates :math:`\beta_1, \beta_2` of the momentum and the Hessian
        estimate (the latter's effective rate is :math:`1 - (1 - \beta_2) / k`).
    eps : float
        :math:`\varepsilon`, the smallest denominator.
    weight_decay : float or schedule
        :math:`\lambda`, decoupled.
    weight_decay_mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (see :class:`AdamW`).
    gamma : float
        :math:`\gamma`, the scale of the Hessian estimate.
    clip_threshold : float, optional
        :math:`\rho`; ``None`` does not clip.
    update_interval : int
        :math:`k`, the steps between two Hessian estimates.
    key : int or jax key, optional
        The seed of the signs, or a key; ``None`` for optax's default,
        ``jax.random.PRNGKey(0)``.
    mu_dtype : dtype, optional
        The dtype of :math:`m`.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. The Hessian estimate then
        differentiates the loss at the parameters cast to it. ``mu_dtype``,
        when given, still sets :math:`m`'s. See the mixed precision guide.
    verbose : bool
        Print the fraction of unclipped elements (the "win rate") every
        ``print_win_rate_every_n_steps`` steps.
    print_win_rate_every_n_steps : int
        How often ``verbose`` prints.

    References
    ----------
    Liu, Li, Hall, Liang & Ma, "Sophia: A Scalable Stochastic Second-order
    Optimizer for Language Model Pre-training", ICLR 2024 (arXiv:2305.14342).
    """

    second_moment = "h"
    h: dict[str, jax.Array]

    def __init__(
        self,
        learning_rate: float,
        b1: float = 0.965,
        b2: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 1e-4,
        weight_decay_mask: Pattern | None = None,
        gamma: float = 0.01,
        clip_threshold: float | None = 1.0,
        update_interval: int = 10,
        key: int | jax.Array | None = None,
        mu_dtype: Any = None,
        verbose: bool = False,
        print_win_rate_every_n_steps: int = 0,
        *,
        state_dtype: Any = None,
    ) -> None:
        super().__init__(learning_rate, b1, b2, eps, mu_dtype=mu_dtype, state_dtype=state_dtype)
        self.init_decay(weight_decay, weight_decay_mask, False)
        check_nonnegative("gamma", gamma)
        if clip_threshold is not None:
            check_positive("clip_threshold", clip_threshold)
        for name, value in (
            ("update_interval", update_interval),
            ("print_win_rate_every_n_steps", print_win_rate_every_n_steps),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if update_interval < 1:
            raise ValueError(f"update_interval must be an int >= 1, got {update_interval!r}")
        if verbose and print_win_rate_every_n_steps < 1:
            raise ValueError("verbose=True needs print_win_rate_every_n_steps >= 1")
        self.gamma = gamma
        self.clip_threshold = clip_threshold
        self.update_interval = update_interval
        self.key = as_key(jax.random.PRNGKey(0) if key is None else key)
        self.verbose = verbose
        self.print_win_rate_every_n_steps = print_win_rate_every_n_steps

    def __call__(
        self, model: Any, grads: Any, *, loss_fn: Any = None, obj_fn: Any = None, **extras: Any
    ) -> Any:
        """One step: ``opt(model, grads, loss_fn=loss_fn)``; optax's ``obj_fn=`` is accepted."""
        loss_fn = one_of(
            loss_fn, obj_fn, "Sophia got both loss_fn= and obj_fn= (optax's name): pass one"
        )
        if loss_fn is not None:
            extras["value_fn"] = of_params(loss_fn, model)
        return super().__call__(model, grads, **extras)

    def minimize(
        self,
        loss_fn: Callable[..., Any],
        model: Any,
        *args: Any,
        has_aux: bool = False,
        **extras: Any,
    ) -> tuple[Any, Any]:
        """One step on ``loss_fn(model, *args)``; the Hessian estimate uses the same function.

        As :meth:`Optimizer.minimize`: returns the new model and the loss (and aux).
        """
        model, value, _ = minimize_with_loss_fn(self, loss_fn, model, args, has_aux, extras)
        return model, value

    def init(self, model: Any, **extras: Any) -> None:
        """Build the state ahead of the first step; ``loss_fn`` is not needed."""
        extras.setdefault("loss_fn", zero_loss)
        super().init(model, **extras)

    def call_model(
        self,
        grads: dict[str, jax.Array],
        *,
        params: dict[str, jax.Array],
        value_fn: Any = None,
        **_: Any,
    ) -> dict[str, jax.Array]:
        for key, param in params.items():
            reject_complex(self, key, param, "it clips element-wise")
        if value_fn is None:
            raise ValueError(
                "Sophia needs the loss function for its Hessian estimate: call "
                "opt(model, grads, loss_fn=loss_fn) (optax's obj_fn= works too), with "
                "loss_fn(model) -> loss, or opt.minimize(loss_fn, model, ...)"
            )
        # Sophia steps through its own __call__, which StateDtype.updates does not wrap:
        # the hooks cast to state_dtype themselves (the update back in call_param).
        grads = {k: g.astype(self.compute_dtype(g) or g.dtype) for k, g in grads.items()}
        params = {k: p.astype(self.compute_dtype(p) or p.dtype) for k, p in params.items()}
        count = self.t
        grads = super().call_model(grads)
        updates = {}
        for key, g in grads.items():
            self._build(key, g)
            self.m[key] = ema(self.m[key], g, self.b1).astype(self.m[key].dtype)
            u = debias(self.m[key], self.b1, self.t) / jnp.maximum(
                self.gamma * self.h[key], self.eps
            )
            if self.clip_threshold is not None:
                u = jnp.clip(u, -self.clip_threshold, self.clip_threshold)
            updates[key] = u.astype(g.dtype)
        if self.verbose and self.clip_threshold is not None:
            inside = sum(jnp.sum(jnp.abs(u) < self.clip_threshold) for u in updates.values())
            rate = inside / sum(u.size for u in updates.values())
            lax.cond(
                self.t % self.print_win_rate_every_n_steps == 0,
                lambda: jax.debug.print("Sophia optimizer win rate: {}", rate),
                lambda: None,
            )
        h = {key: self.h[key] for key in grads}
        p = {key: params[key] for key in grads}

        def estimate(state: tuple[jax.Array, dict[str, jax.Array]]) -> Any:
            key, h = state
            key, sample = jax.random.split(key)
            sample_keys = jax.random.split(sample, len(p))
            dtype = _lowest_dtype(p)
            signs = {
                k: jax.random.rademacher(s, x.shape, jnp.float32).astype(dtype)
                for (k, x), s in zip(p.items(), sample_keys)
            }
            hvp = jax.jvp(jax.grad(value_fn), (p,), (signs,))[1]
            return key, {k: ema(h[k], hvp[k] * signs[k], self.b2).astype(h[k].dtype) for k in h}

        refresh = count % self.update_interval == 0
        self.key, new_h = lax.cond(refresh, estimate, lambda s: s, (self.key, h))
        self.h.update(new_h)
        return updates

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        update = self.current(self.learning_rate) * self.decay(key, grad, param.astype(grad.dtype))
        return update.astype(param.dtype)
