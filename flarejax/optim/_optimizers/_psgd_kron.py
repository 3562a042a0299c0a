"""PSGD Kron: SGD preconditioned by a fitted Kronecker product of triangular or diagonal factors."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_nonnegative, check_positive, check_range
from .._patterns import Pattern
from ._complex import abs_sq, reject_complex
from ._decay import DecoupledDecay
from ._factors import FactorPlacement
from ._moments import debias, ema, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["PSGDKron"]

_LETTERS = string.ascii_lowercase + string.ascii_uppercase
_MODES = (None, "one_diag", "all_diag")


def _anneal(n: jax.Array) -> jax.Array:
    """The reference's default probability: 1 for 500 steps, then :math:`e^{-0.001(n-500)}`
    down to 0.03."""
    return jnp.minimum(jnp.maximum(jnp.exp(-0.001 * (n - 500)), 0.03), 1.0)


class PSGDKron(FactorPlacement, DecoupledDecay, StateDtype):
    r"""PSGD with a Kronecker-factored preconditioner (Xi-Lin Li's "Kron").

    .. math::

        m_t &= \beta_1\, m_{t-1} + (1 - \beta_1)\, g_t, \qquad
        \hat m_t = m_t / (1 - \beta_1^t) \\
        P &= Q^H Q, \quad Q = Q_1 \otimes \cdots \otimes Q_d, \qquad
        u_t = P\, \hat m_t \ \text{(factor by factor, along each dimension)} \\
        \theta_t &= \theta_{t-1} - \eta\, \big(u_t / \max(1, \mathrm{rms}(u_t) / 1.1)
        + \lambda\, \theta_{t-1}\big)

    Each dimension of size :math:`n` has its own factor :math:`Q_i`: an upper
    triangular :math:`n \times n` matrix, or a diagonal (a vector of :math:`n`)
    when :math:`n = 1`, :math:`n >` ``max_size_triangular``, the parameter has
    fewer than ``min_ndim_triangular`` dimensions, or ``memory_save_mode``
    says so; a scalar has a scalar factor. The factors are fitted by a
    preconditioned gradient step on Li's criterion
    :math:`\mathbb E[h^H P h + v^H P^{-1} v]` with a random probe
    :math:`v \sim \mathcal N(0, I)` and :math:`h = \hat m_t + \sqrt{\epsilon_{32}}\,
    \overline{|\hat m_t|}\, v` (``momentum_into_precond_update``; else
    :math:`g_t`), step ``preconditioner_lr`` normalized by a bound on the
    spectral norm, and rebalanced (their max-abs equalized) with probability
    0.01. The fit runs on a deterministic schedule: when the steps since the
    last fit reach :math:`1 / p_t`, :math:`p_t` being
    ``preconditioner_update_probability``. The probes come from the key
    :math:`\mathrm{fold\_in}(\mathrm{PRNGKey}(\text{seed}), t - 1)`: no key is
    kept, and the same steps draw the same probes.

    Equal to ``psgd_jax.kron`` (Evan Walters' JAX port of Li's ``psgd_torch``,
    ``tests/optim/test_psgd_kron.py`` holds its numbers) with float32 matmul
    precision, and without its scanned-layer options. optax has no equivalent.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`.
    b1 : float
        The momentum decay :math:`\beta_1` (0: the gradient itself).
    weight_decay : float or schedule
        :math:`\lambda`, decoupled, added to the preconditioned update.
    mask : pattern(s) or function of the key, optional
        Decay only matching parameters, as in :class:`AdamW`.
    preconditioner_update_probability : float or schedule, optional
        :math:`p_t \in (0, 1]`, a function of the step number :math:`t = 1, 2,
        \dots`; by default the reference's anneal
        :math:`\min(1, \max(0.03, e^{-0.001\,(t - 500)}))`.
    max_size_triangular : int
        Dimensions larger than this get a diagonal factor.
    min_ndim_triangular : int
        Parameters with fewer dimensions get diagonal factors only.
    memory_save_mode : None, "one_diag" or "all_diag"
        Make the largest dimension's factor (``"one_diag"``) or every factor
        diagonal.
    momentum_into_precond_update : bool
        Fit the preconditioner to the momentum (else to the gradient).
    preconditioner_lr : float
        The step of the preconditioner's fit.
    preconditioner_init_scale : float
        :math:`Q` starts at this times the identity (split evenly over the factors).
    mu_dtype, precond_dtype : dtype, optional
        The dtypes of the momentum (default: the gradient's) and of the factors
        (default: float32).
    state_dtype : dtype, optional
        The dtype of the momentum and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype`` and
        ``precond_dtype`` still set the momentum's and the factors' dtypes.
        See the mixed precision guide.
    seed : int
        The seed of the probes (the reference's is 5318008).
    decouple_from_lr : bool
        Fully decoupled decay, as in :class:`AdamW`.

    Complex parameters are not supported. ``init`` shards the factors of a
    parameter axis sharded over mesh axes by rows over the same mesh axes.

    References
    ----------
    Li, "Preconditioned Stochastic Gradient Descent", IEEE TNNLS 2018;
    Li, "Black Box Lie Group Preconditioners for SGD", arXiv:2211.04422, 2022
    (code: github.com/lixilinx/psgd_torch; JAX: github.com/evanatyourservice/psgd_jax).
    """

    m: dict[str, jax.Array]
    Q: dict[str, list[jax.Array]]

    def __init__(
        self,
        learning_rate: float | Callable[..., Any],
        b1: float = 0.9,
        weight_decay: float | Callable[..., Any] = 0.0,
        mask: Pattern | None = None,
        preconditioner_update_probability: float | Callable[..., Any] | None = None,
        max_size_triangular: int = 8192,
        min_ndim_triangular: int = 2,
        memory_save_mode: str | None = None,
        *,
        momentum_into_precond_update: bool = True,
        preconditioner_lr: float = 0.1,
        preconditioner_init_scale: float = 1.0,
        mu_dtype: Any = None,
        precond_dtype: Any = None,
        seed: int = 5318008,
        decouple_from_lr: bool = False,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        if preconditioner_update_probability is not None:
            check_range(
                "preconditioner_update_probability",
                preconditioner_update_probability,
                0,
                1,
                lo_open=True,
                hi_open=False,
            )
        for name, value in (
            ("max_size_triangular", max_size_triangular),
            ("min_ndim_triangular", min_ndim_triangular),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if memory_save_mode not in _MODES:
            raise ValueError(f"memory_save_mode must be one of {_MODES}, got {memory_save_mode!r}")
        check_nonnegative("preconditioner_lr", preconditioner_lr)
        check_positive("preconditioner_init_scale", preconditioner_init_scale)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.init_decay(weight_decay, mask, decouple_from_lr)
        self.preconditioner_update_probability = preconditioner_update_probability
        self.max_size_triangular = max_size_triangular
        self.min_ndim_triangular = min_ndim_triangular
        self.memory_save_mode = memory_save_mode
        self.momentum_into_precond_update = bool(momentum_into_precond_update)
        self.preconditioner_lr = preconditioner_lr
        self.preconditioner_init_scale = preconditioner_init_scale
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.precond_dtype = as_mu_dtype(precond_dtype, "precond_dtype") or "float32"
        self.seed = int(seed)
        self.m: dict[str, jax.Array] = {}
        self.Q: dict[str, list[jax.Array]] = {}
        self.update_counter = jnp.zeros((), jnp.int32)
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    factor_dicts = ("Q",)

    def factor_axes(self, key: str, shape: tuple[int, ...]) -> list[int] | None:
        """The parameter axis of each factor of ``key`` (``None``: a scalar's scalar)."""
        return list(range(len(shape))) if shape else None

    # -- the step ---------------------------------------------------------------------

    def call_model(self, grads: dict[str, jax.Array], **_: Any) -> dict[str, jax.Array]:
        super().call_model(grads)
        for key, g in grads.items():
            reject_complex(self, key, g, "its triangular factors are fitted as real matrices")
            self._build(key, g)
        momentum = {}
        for key, g in grads.items():
            m = ema(self.m[key], g, self.b1)
            momentum[key] = debias(m, self.b1, self.t).astype(m.dtype)
            self.m[key] = m.astype(self.m[key].dtype)

        # Fit the preconditioner every 1 / p steps, from the same keys as the reference.
        t = self.t.astype(jnp.int32)
        rng = jax.random.fold_in(jax.random.PRNGKey(self.seed), t - 1)
        counter = self.update_counter + 1
        fit = counter >= 1 / self._probability(t)
        self.update_counter = jnp.where(fit, 0, counter)
        fit_to = momentum if self.momentum_into_precond_update else grads
        rng, sub = jax.random.split(rng)
        # Only the factors of this step's gradients (a parameter without one keeps its own).
        live = {key: self.Q[key] for key in grads}
        live = jax.lax.cond(fit, lambda k, q: self._fit(k, q, fit_to), lambda _, q: q, sub, live)
        self.Q = {**self.Q, **live}

        out = {}
        for key, m in momentum.items():
            q = self.Q[key]
            u = jnp.einsum(self._exprs(m.shape)[2], *[f.conj() for f in q], *q, m)
            # The preconditioned update's RMS is about 1: cap it at 1.1.
            out[key] = u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(abs_sq(u))) / 1.1)
        return out

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        return self.current(self.learning_rate) * self.decay(key, grad, param)

    def _probability(self, t: jax.Array) -> Any:
        """:math:`p_t` at the step number ``t`` (1-based, as the reference evaluates it)."""
        p = self.preconditioner_update_probability
        if p is None:
            return _anneal(t)
        return p(t) if callable(p) else p

    def _build(self, key: str, grad: jax.Array) -> None:
        if key in self.m:
            return
        self.m[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
        if grad.ndim == 0:
            self.Q[key] = [self.preconditioner_init_scale * jnp.ones((), self.precond_dtype)]
            return
        scale = self.preconditioner_init_scale ** (1 / grad.ndim)
        self.Q[key] = [
            scale * (jnp.ones(n, self.precond_dtype) if d else jnp.eye(n, dtype=self.precond_dtype))
            for n, d in zip(grad.shape, self._diagonal(grad.shape))
        ]

    # -- fitting the preconditioner ---------------------------------------------------

    def _fit(
        self, rng: jax.Array, qs: dict[str, list[jax.Array]], grads: dict[str, jax.Array]
    ) -> dict[str, list[jax.Array]]:
        rng, sub = jax.random.split(rng)
        qs = _balance(qs, jax.random.uniform(sub) < 0.01)
        rng, sub = jax.random.split(rng)
        probe_keys = jax.random.split(sub, len(grads))
        damp = jnp.sqrt(jnp.finfo(jnp.float32).eps)
        out = {}
        for (key, g), k in zip(grads.items(), probe_keys):
            v = jax.random.normal(k, g.shape, g.dtype)
            # Damping scaled by the gradient's size keeps the fit well posed at g = 0.
            h = g + damp.astype(g.dtype) * jnp.mean(jnp.abs(g)) * v
            new = _update_factors(
                qs[key], h, _conj_b(qs[key], v), self._exprs(g.shape), self.preconditioner_lr
            )
            out[key] = [f.astype(self.precond_dtype) for f in new]
        return out

    def _diagonal(self, shape: tuple[int, ...]) -> tuple[bool, ...]:
        """Which dimensions of ``shape`` get a diagonal factor."""
        chosen = [self.memory_save_mode == "all_diag"] * len(shape)
        if self.memory_save_mode == "one_diag":
            chosen[int(np.argsort(shape)[::-1][0])] = True
        return tuple(
            n == 1 or n > self.max_size_triangular or len(shape) < self.min_ndim_triangular or d
            for n, d in zip(shape, chosen)
        )

    def _exprs(self, shape: tuple[int, ...]) -> tuple[str, tuple[str, ...], str]:
        """The reference's einsum expressions: for ``A = Q g``, each factor's gradient
        statistics, and the preconditioned gradient ``Q^H Q g``."""
        if not shape:
            return ",->", (",->",), ",,->"
        if len(shape) > 13:
            raise ValueError(f"PSGDKron takes parameters of up to 13 dimensions, got {shape}")
        a_in, a_q, a_out, stats, p_qc, p_q, p_g, p_out = [], "", "", [], [], [], "", ""
        for i, diag in enumerate(self._diagonal(shape)):
            x, y, z = _LETTERS[i], _LETTERS[i + 13], _LETTERS[i + 26]
            left = "".join(y if j == i else _LETTERS[j] for j in range(len(shape)))
            if diag:
                a_in.append(x)
                a_q, a_out = a_q + x, a_out + x
                stats.append(f"{left},{left}->{y}")
                p_qc.append(y)
                p_q.append(y)
                p_g, p_out = p_g + y, p_out + y
            else:
                a_in.append(x + y)
                a_q, a_out = a_q + y, a_out + x
                right = "".join(z if j == i else _LETTERS[j] for j in range(len(shape)))
                stats.append(f"{left},{right}->{y}{z}")
                p_qc.append(x + y)
                p_q.append(x + z)
                p_g, p_out = p_g + z, p_out + y
        expr_a = ",".join(a_in) + "," + a_q + "->" + a_out
        expr_p = ",".join(p_qc) + "," + ",".join(p_q) + "," + p_g + "->" + p_out
        return expr_a, tuple(stats), expr_p


def _balance(qs: dict[str, list[jax.Array]], now: jax.Array) -> dict[str, list[jax.Array]]:
    """If ``now``, rescale each parameter's factors to the geometric mean of their max-abs
    (their product unchanged): the reference's ``lax.cond``, as a selection."""
    out = {}
    for key, q in qs.items():
        if len(q) < 2:
            out[key] = q
            continue
        norms = jnp.array([jnp.max(jnp.abs(f)) for f in q], dtype=jnp.float32)
        to_mul = jnp.where(now, jnp.prod(norms) ** (1 / len(norms)) / norms, 1)
        out[key] = [jnp.where(now, f * s.astype(f.dtype), f) for f, s in zip(q, to_mul)]
    return out


def _add_tiny(x: jax.Array) -> jax.Array:
    return x + jnp.finfo(x.dtype).tiny


def _norm_lower_bound(a: jax.Array) -> jax.Array:
    """A cheap lower bound of the spectral norm of ``a`` (within about sqrt(2) of it).

    The reference's two ``lax.cond`` are selections here (both sides are cheap,
    and a select compiles faster than a branch): the same numbers.
    """
    max_abs = jnp.max(jnp.abs(a))
    safe = jnp.where(max_abs > 0, max_abs, 1)
    a = a / safe
    aa = jnp.real(a * a.conj())
    col, row = jnp.sum(aa, axis=0), jnp.sum(aa, axis=1)
    i, j = jnp.argmax(col), jnp.argmax(row)
    x = jax.lax.dynamic_index_in_dim(a, i, 1, keepdims=False).conj() @ a
    by_column = jnp.linalg.norm((x / jnp.linalg.norm(x)) @ a.conj().T)
    y = a @ jax.lax.dynamic_index_in_dim(a, j, 0, keepdims=False).conj()
    by_row = jnp.linalg.norm(a.conj().T @ (y / jnp.linalg.norm(y)))
    bound = max_abs * jnp.where(col[i] > row[j], by_column, by_row)
    return jnp.where(max_abs > 0, bound, max_abs)


def _solve_triangular_right(x: jax.Array, a: jax.Array) -> jax.Array:
    """``x @ inv(a)`` for upper triangular ``a``, over ``x``'s last two dimensions."""
    vector = x.ndim < 2
    if vector:
        x = x[None, :]
    dtype = jnp.promote_types(a.dtype, x.dtype)
    solve = lambda a, x: jax.lax.linalg.triangular_solve(a, x, left_side=False, lower=False)  # noqa: E731
    for _ in range(x.ndim - 2):
        solve = jax.vmap(solve, in_axes=(None, 0))
    out = solve(a.astype(dtype), x.astype(dtype))
    return out[0] if vector else out


def _conj_b(q: list[jax.Array], v: jax.Array) -> jax.Array:
    """:math:`\\bar v` times the inverse of every factor, along each dimension."""
    order = v.ndim
    p = list(range(order))
    b = jnp.transpose(v.conj(), p[1:] + p[:1])
    for i, f in enumerate(q):
        b = b / f if f.ndim < 2 else _solve_triangular_right(b, f)
        if i < order - 1:
            b = jnp.swapaxes(b, i, order - 1)
    return b


def _update_factors(
    q: list[jax.Array],
    h: jax.Array,
    conj_b: jax.Array,
    exprs: tuple[str, tuple[str, ...], str],
    lr: Any,
) -> list[jax.Array]:
    """One step of each factor on Li's criterion, normalized by the statistics' size."""
    expr_a, stats, _ = exprs
    a = jnp.einsum(expr_a, *q, h)
    out = []
    for i, f in enumerate(q):
        term1 = jnp.einsum(stats[i], a, a.conj())
        term2 = jnp.einsum(stats[i], conj_b.conj(), conj_b)
        step = (term1 - term2) * lr
        if f.ndim < 2:
            step = step * f / _add_tiny(jnp.max(jnp.abs(term1 + term2)))
        else:
            step = jnp.triu(step) / _add_tiny(_norm_lower_bound(term1 + term2)) @ f
        out.append(f - step)
    return out
