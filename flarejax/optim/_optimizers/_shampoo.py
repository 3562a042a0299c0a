"""Shampoo: blocked Kronecker-factored preconditioners, grafted onto a diagonal method."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._core.checks import check_steps
from .._checks import check_nonnegative, check_positive, check_range
from ._complex import reject_complex
from ._factors import FactorPlacement
from ._moments import ema, new_counter

__all__ = ["Shampoo", "inverse_root_eigh", "inverse_root_newton"]

_GRAFTS = ("adam", "adagrad", "sgd", None)
_ROOTS = ("eigh", "newton")


class Shampoo(FactorPlacement):
    r"""Shampoo: one preconditioner per axis, blocked, grafted onto Adam's step sizes.

    A parameter with :math:`k \ge 2` axes is cut into blocks of at most
    ``block_size`` along every axis. Each block :math:`G` (of the gradient
    :math:`g_t`) keeps one statistic per axis, :math:`L^{(i)} \in
    \mathbb{R}^{n_i \times n_i}`:

    .. math::

        L^{(i)}_t &= \beta_2 L^{(i)}_{t-1} + (1 - \beta_2)\, G_{(i)} G_{(i)}^\top
            \qquad (G_{(i)}: \text{the block unfolded along axis } i) \\
        P^{(i)} &= \big(L^{(i)}_t / (1 - \beta_2^t) + \epsilon_M I\big)^{-1/e}
            \quad\text{every } \tau \text{ steps } (t = 1, \tau + 1, 2 \tau + 1, \dots),
            \ e = 2k \text{ unless overridden} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t, \qquad \hat m_t = m_t / (1 - \beta_1^t) \\
        D &= \hat M \times_1 P^{(1)} \times_2 \cdots \times_k P^{(k)}
            \qquad (\hat M: \text{the block of } \hat m_t) \\
        U &= D \, \lVert A \rVert_F / (\lVert D \rVert_F + 10^{-16})
            \qquad (U: \text{the block of } u_t) \\
        \theta_t &= \theta_{t-1} - \eta\, (u_t + \lambda\, \theta_{t-1})

    where :math:`A` is the same block of the grafting direction: Adam's
    :math:`\hat m_t / (\sqrt{\hat v_t} + \varepsilon)` (``graft="adam"``,
    :math:`v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2`), AdaGrad's
    :math:`\hat m_t / (\sqrt{\textstyle\sum_s g_s^2} + \varepsilon)`
    (``"adagrad"``) or :math:`\hat m_t` (``"sgd"``); with ``graft=None``,
    :math:`U = D`. Shampoo supplies the direction, the grafted method the size of
    the step. Vectors and scalars, and every parameter before step
    ``start_preconditioning_step``, take the grafting direction :math:`A` itself.
    Between refreshes the preconditioners :math:`P^{(i)}` are reused (they start
    as identities). The roots are taken by an eigendecomposition
    (``root_method="eigh"``, negative eigenvalues of rounding clipped to 0) or by
    a coupled Newton iteration (``"newton"``, matrix products only).

    The statistics, preconditioners and moments are kept in float32 whatever the
    parameter's dtype (bfloat16 statistics would lose the small eigenvalues the
    inverse root amplifies); there is no ``state_dtype`` argument. On several
    devices, ``init`` shards each statistic and preconditioner by rows as its
    parameter axis is sharded (the moments follow their parameter). Complex
    parameters raise a ``TypeError``. optax has no Shampoo; torch.optim has none.
    ``tests/optim/test_shampoo.py`` checks it against a float64 NumPy
    implementation of the above.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, or a function of the step count.
    b1 : float
        :math:`\beta_1`, decay of the first moment (0 for none).
    b2 : float
        :math:`\beta_2`, decay of the statistics and of Adam's second moment.
    eps : float
        :math:`\varepsilon`, in the grafting direction's denominator.
    matrix_eps : float
        :math:`\epsilon_M`, added to each statistic's diagonal before its root.
    weight_decay : float or schedule
        :math:`\lambda`, decoupled weight decay scaled by the learning rate.
    block_size : int
        The largest block side: longer axes are split into blocks this long
        (the last shorter).
    precondition_frequency : int
        :math:`\tau`: the preconditioners are recomputed every :math:`\tau` steps.
    start_preconditioning_step : int
        The first step that uses Shampoo's direction; before it, the grafting
        direction alone.
    graft : {"adam", "adagrad", "sgd", None}
        The method whose step size (per block) Shampoo's direction takes.
    exponent_override : int or float, optional
        :math:`e`, the root of every statistic (default: twice the number of
        axes, 4 for a matrix). ``root_method="newton"`` needs an integer.
    root_method : {"eigh", "newton"}
        How the inverse roots are taken.
    newton_iterations : int
        The most coupled Newton iterations (they stop earlier once converged).

    References
    ----------
    Gupta, Koren & Singer, "Shampoo: Preconditioned Stochastic Tensor
    Optimization", ICML 2018. Anil, Gupta, Koren, Regan & Singer, "Scalable
    Second Order Optimization for Deep Learning", 2020 (blocks, grafting, the
    coupled Newton iteration; google-research ``scalable_shampoo``). Shi et al.,
    "A Distributed Data-Parallel PyTorch Implementation of the Distributed
    Shampoo Optimizer", 2023 (Adam grafting, the first moment preconditioned).
    """

    def __init__(
        self,
        learning_rate: float | Callable[[Any], Any],
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        matrix_eps: float = 1e-6,
        weight_decay: float | Callable[[Any], Any] = 0.0,
        *,
        block_size: int = 128,
        precondition_frequency: int = 10,
        start_preconditioning_step: int = 1,
        graft: str | None = "adam",
        exponent_override: float | None = None,
        root_method: str = "eigh",
        newton_iterations: int = 100,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("matrix_eps", matrix_eps)
        check_nonnegative("weight_decay", weight_decay)
        check_positive("exponent_override", exponent_override)
        if graft not in _GRAFTS:
            raise ValueError(f"graft must be one of {_GRAFTS}, got {graft!r}")
        if root_method not in _ROOTS:
            raise ValueError(f"root_method must be one of {_ROOTS}, got {root_method!r}")
        if (
            root_method == "newton"
            and exponent_override is not None
            and (isinstance(exponent_override, bool) or not isinstance(exponent_override, int))
        ):
            raise ValueError(
                "exponent_override must be an integer for root_method='newton' (the "
                f"iteration raises matrices to that power), got {exponent_override!r}; "
                "use root_method='eigh' for other exponents"
            )
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.eps = eps
        self.matrix_eps = matrix_eps
        self.weight_decay = weight_decay
        self.block_size = check_steps("block_size", block_size, minimum=1)
        self.precondition_frequency = check_steps(
            "precondition_frequency", precondition_frequency, minimum=1
        )
        self.start_preconditioning_step = check_steps(
            "start_preconditioning_step", start_preconditioning_step, minimum=1
        )
        self.graft = graft
        self.exponent_override = exponent_override
        self.root_method = root_method
        self.newton_iterations = check_steps("newton_iterations", newton_iterations, minimum=1)
        self.m: dict[str, jax.Array] = {}
        self.v: dict[str, jax.Array] = {}  # the grafting method's second moment
        # Per parameter: one list per block, of one matrix per axis.
        self.stats: dict[str, list[list[jax.Array]]] = {}
        self.preconditioners: dict[str, list[list[jax.Array]]] = {}
        self.t = new_counter()

    factor_dicts = ("stats", "preconditioners")

    def factor_axes(self, key: str, shape: tuple[int, ...]) -> list[int] | None:
        """The parameter axis of each factor matrix of ``key``, in flattening order."""
        return [i for _ in self.blocks(shape) for i in range(len(shape))]

    def blocks(self, shape: tuple[int, ...]) -> list[tuple[slice, ...]]:
        """The blocks of an array of ``shape``: one tuple of slices per block."""
        bs = self.block_size
        per_axis = [[slice(i, min(i + bs, n)) for i in range(0, n, bs)] for n in shape]
        return list(itertools.product(*per_axis))

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "its statistics are real Gram matrices")
        g = grad.astype(jnp.float32)
        if key not in self.m:
            self._build(key, g)
        m = ema(self.m[key], g, self.b1)
        self.m[key] = m
        m_hat = m / (1 - self.b1**self.t).astype(jnp.float32)
        direction = self._graft(key, g, m_hat)
        if key in self.stats:
            shampoo = self._precondition(key, g, m_hat, direction)
            started = self.t >= self.start_preconditioning_step
            direction = jnp.where(started, shampoo, direction)
        update = direction + self.current(self.weight_decay) * param.astype(jnp.float32)
        return (self.current(self.learning_rate) * update).astype(grad.dtype)

    def _build(self, key: str, g: jax.Array) -> None:
        self.m[key] = jnp.zeros_like(g)
        if self.graft in ("adam", "adagrad"):
            self.v[key] = jnp.zeros_like(g)
        if g.ndim >= 2:
            sides = [[s.stop - s.start for s in block] for block in self.blocks(g.shape)]
            self.stats[key] = [[jnp.zeros((n, n), jnp.float32) for n in ns] for ns in sides]
            eye = [[jnp.eye(n, dtype=jnp.float32) for n in ns] for ns in sides]
            self.preconditioners[key] = eye

    def _graft(self, key: str, g: jax.Array, m_hat: jax.Array) -> jax.Array:
        """The grafting direction :math:`A`: its norm sets the step size."""
        if self.graft == "adam":
            self.v[key] = ema(self.v[key], g**2, self.b2)
            v_hat = self.v[key] / (1 - self.b2**self.t).astype(jnp.float32)
            return m_hat / (jnp.sqrt(v_hat) + self.eps)
        if self.graft == "adagrad":
            self.v[key] = self.v[key] + g**2
            return m_hat / (jnp.sqrt(self.v[key]) + self.eps)
        return m_hat

    def _precondition(
        self, key: str, g: jax.Array, m_hat: jax.Array, graft: jax.Array
    ) -> jax.Array:
        blocks = self.blocks(g.shape)
        stats = [
            [self.b2 * s + (1 - self.b2) * gram(g[b], i) for i, s in enumerate(per)]
            for b, per in zip(blocks, self.stats[key])
        ]
        self.stats[key] = stats
        exponent = 2 * g.ndim if self.exponent_override is None else self.exponent_override

        debias = (1 - self.b2**self.t).astype(jnp.float32)

        def refresh(stats: Any) -> Any:
            return jax.tree.map(lambda s: self.inverse_root(s / debias, exponent), stats)

        due = (self.t - 1) % self.precondition_frequency == 0
        precond = jax.lax.cond(due, refresh, lambda _: self.preconditioners[key], stats)
        self.preconditioners[key] = precond
        out = jnp.zeros_like(g)
        for b, ps in zip(blocks, precond):
            d = m_hat[b]
            for p in ps:
                # Contracting axis 0 each time moves it last: after k products the
                # axes are back in order, each multiplied by its own P.
                d = jnp.tensordot(d, p, axes=[[0], [0]])
            if self.graft is not None:
                d = d * (jnp.linalg.norm(graft[b]) / (jnp.linalg.norm(d) + 1e-16))
            out = out.at[b].set(d)
        return out

    def inverse_root(self, s: jax.Array, exponent: Any) -> jax.Array:
        """:math:`(S + \\epsilon_M I)^{-1/e}` by the configured ``root_method``."""
        if self.root_method == "newton":
            return inverse_root_newton(s, int(exponent), self.matrix_eps, self.newton_iterations)
        return inverse_root_eigh(s, exponent, self.matrix_eps)


def gram(x: jax.Array, axis: int) -> jax.Array:
    """:math:`X_{(i)} X_{(i)}^\\top`: ``x`` contracted with itself over every axis but ``axis``."""
    others = [a for a in range(x.ndim) if a != axis]
    return jnp.tensordot(x, x, axes=(others, others))


def inverse_root_eigh(s: jax.Array, exponent: Any, eps: Any) -> jax.Array:
    """:math:`(S + \\epsilon I)^{-1/e}` of a symmetric PSD ``s`` by eigendecomposition.

    Eigenvalues below zero (rounding) are taken as zero.
    """
    w, q = jnp.linalg.eigh(s)
    w = (jnp.maximum(w, 0) + eps) ** (-1.0 / exponent)
    return (q * w) @ q.T


def inverse_root_newton(
    s: jax.Array, exponent: int, eps: Any, iterations: int = 100, tol: float = 1e-6
) -> jax.Array:
    """:math:`(S + \\epsilon I)^{-1/p}` of a symmetric PSD ``s`` by the coupled Newton iteration.

    With :math:`A = S + \\epsilon I` scaled by :math:`z = (1 + p) / (2 \\lVert A
    \\rVert_F)`: :math:`M_0 = z A`, :math:`H_0 = z^{1/p} I`, and
    :math:`X_i = ((p + 1) I - M_i) / p`, :math:`M_{i+1} = X_i^p M_i`,
    :math:`H_{i+1} = H_i X_i \\to A^{-1/p}`, until the error
    :math:`\\lVert M_i - I \\rVert_F / \\sqrt n` is at most ``tol``, grows by more
    than 1.2x (then the previous :math:`H` is kept), or after ``iterations``. As
    ``scalable_shampoo``'s ``matrix_inverse_pth_root``, with an absolute ridge,
    and with that error in place of its :math:`\\max_{jk} |M_i - I|_{jk}`: every
    eigenvalue of :math:`M_i` moves monotonically to 1, so this error never grows
    but by rounding, while the element-wise maximum can grow on the first
    iteration of a well-conditioned matrix and stop it at :math:`H_0`.
    """
    n = s.shape[0]
    eye = jnp.eye(n, dtype=s.dtype)
    a = s + eps * eye
    z = (1 + exponent) / (2 * jnp.linalg.norm(a))
    m0, h0 = a * z, eye * z ** (1.0 / exponent)

    def error(m: jax.Array) -> jax.Array:
        return jnp.linalg.norm(m - eye) / jnp.sqrt(n)

    err0 = error(m0)

    def keep_going(c: tuple[Any, ...]) -> Any:
        i, _, _, err, grew = c
        return (i < iterations) & (err > tol) & ~grew

    def body(c: tuple[Any, ...]) -> tuple[Any, ...]:
        i, m, h, err, _ = c
        x = ((exponent + 1) * eye - m) / exponent
        m_next = jnp.linalg.matrix_power(x, exponent) @ m
        h_next = h @ x
        err_next = error(m_next)
        grew = err_next > 1.2 * err
        # A diverging step is dropped: the last iterate was the best one.
        m_next, h_next = jax.lax.cond(grew, lambda: (m, h), lambda: (m_next, h_next))
        return i + 1, m_next, h_next, jnp.minimum(err, err_next), grew

    start = (jnp.zeros((), jnp.int32), m0, h0, err0, jnp.zeros((), bool))
    return jax.lax.while_loop(keep_going, body, start)[2]
