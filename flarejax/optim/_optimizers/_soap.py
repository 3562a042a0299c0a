"""SOAP: Adam in the eigenbasis of Shampoo's preconditioner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._core.checks import check_steps
from .._checks import check_nonnegative, check_range
from ._complex import reject_complex
from ._factors import FactorPlacement
from ._moments import ema, new_counter
from ._shampoo import gram

__all__ = ["SOAP", "merged_shape"]


class SOAP(FactorPlacement):
    r"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner, refreshed every k steps.

    For each axis :math:`i` of a gradient (at most ``max_precond_dim`` long; of
    a matrix or higher array, or of a vector with ``precondition_1d``) a
    Shampoo statistic :math:`L^{(i)}` and its eigenbasis :math:`Q^{(i)}` are
    kept. Writing :math:`\tilde X = X \times_1 Q^{(1)\top} \cdots` for the
    rotation into the eigenbasis and :math:`X \times_1 Q^{(1)} \cdots` for the
    way back, step :math:`s = t - 1` is

    .. math::

        m_s &= \beta_1 m_{s-1} + (1 - \beta_1)\, \tilde g_t, \qquad
        v_s = \beta_2 v_{s-1} + (1 - \beta_2)\, \tilde g_t^2 \\
        \theta &\leftarrow \Big(\theta - \eta\, \frac{\sqrt{1 - \beta_2^s}}{1 - \beta_1^s}
            \big(m_s / (\sqrt{v_s} + \varepsilon)\big) \times_1 Q^{(1)} \cdots\Big)
            (1 - \eta \lambda) \\
        L^{(i)} &\leftarrow \beta_s L^{(i)} + (1 - \beta_s)\, G_{(i)} G_{(i)}^\top

    and then, every ``precondition_frequency`` steps, one step of power
    iteration and a QR decomposition refresh each basis: the columns of
    :math:`Q^{(i)}` are sorted by :math:`\operatorname{diag}(Q^\top L Q)`,
    descending (and :math:`v`'s entries along axis :math:`i` with them),
    :math:`Q^{(i)} \leftarrow \operatorname{qr}(L^{(i)} Q^{(i)})`, and :math:`m`
    is carried over to the new basis. The first call only builds
    :math:`L^{(i)}` from :math:`g_1` and takes :math:`Q^{(i)}` from its
    eigendecomposition (eigenvalues descending); it leaves the parameters
    unchanged, so that no gradient is ever rotated by a basis built from
    itself. Axes longer than ``max_precond_dim``, and vectors and scalars
    (unless ``precondition_1d``), are not rotated: there SOAP is Adam (with
    :math:`\varepsilon` outside the bias correction, as above).

    ``merge_dims`` first merges consecutive axes while their product stays at
    most ``max_precond_dim`` (the reference's ``channels_first`` layout; there
    is no ``data_format``). ``normalize_grads`` divides the step by its RMS.
    Statistics, bases and moments are kept in float32 whatever the parameter's
    dtype (bfloat16 statistics would blur the eigenbasis); there is no
    ``state_dtype`` argument. On several devices, ``init`` shards each statistic
    and basis by rows as its parameter axis is sharded (not where ``merge_dims``
    changed the shape). Complex parameters raise a ``TypeError``. optax and
    torch.optim have no SOAP: this is the authors' PyTorch ``soap.py``
    (github.com/nikhilvyas/SOAP), step for step, and
    ``tests/optim/test_soap.py`` checks it against numbers from that code.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, or a function of the step count.
    b1, b2 : float
        Adam's :math:`\beta_1` and :math:`\beta_2`.
    shampoo_beta : float, optional
        :math:`\beta_s`, the decay of the statistics (default: ``b2``).
    eps : float
        :math:`\varepsilon`, added to :math:`\sqrt{v_s}`.
    weight_decay : float or schedule
        :math:`\lambda`, decoupled, applied after the step (scaled by :math:`\eta`).
    precondition_frequency : int
        Refresh the eigenbases every this many steps.
    max_precond_dim : int
        Axes longer than this are not rotated.
    merge_dims : bool
        Merge small consecutive axes before preconditioning.
    precondition_1d : bool
        Rotate vectors too (one :math:`n \times n` statistic each).
    normalize_grads : bool
        Divide the step by its root mean square.
    correct_bias : bool
        Apply Adam's bias corrections (the factor with :math:`s`).

    References
    ----------
    Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, "SOAP:
    Improving and Stabilizing Shampoo using Adam", ICLR 2025 (arXiv:2409.11321).
    """

    def __init__(
        self,
        learning_rate: float | Callable[[Any], Any] = 3e-3,
        b1: float = 0.95,
        b2: float = 0.95,
        shampoo_beta: float | None = None,
        eps: float = 1e-8,
        weight_decay: float | Callable[[Any], Any] = 0.01,
        *,
        precondition_frequency: int = 10,
        max_precond_dim: int = 10000,
        merge_dims: bool = False,
        precondition_1d: bool = False,
        normalize_grads: bool = False,
        correct_bias: bool = True,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_range("b1", b1, 0, 1)
        check_range("b2", b2, 0, 1)
        check_range("shampoo_beta", shampoo_beta, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("weight_decay", weight_decay)
        self.learning_rate = learning_rate
        self.b1 = b1
        self.b2 = b2
        self.shampoo_beta = shampoo_beta
        self.eps = eps
        self.weight_decay = weight_decay
        self.precondition_frequency = check_steps(
            "precondition_frequency", precondition_frequency, minimum=1
        )
        self.max_precond_dim = check_steps("max_precond_dim", max_precond_dim, minimum=1)
        self.merge_dims = merge_dims
        self.precondition_1d = precondition_1d
        self.normalize_grads = normalize_grads
        self.correct_bias = correct_bias
        self.m: dict[str, jax.Array] = {}  # in the eigenbasis
        self.v: dict[str, jax.Array] = {}  # in the eigenbasis
        # Per parameter: one matrix per rotated axis (see rotated_axes).
        self.gg: dict[str, list[jax.Array]] = {}
        self.q: dict[str, list[jax.Array]] = {}
        self.t = new_counter()

    factor_dicts = ("gg", "q")

    def factor_axes(self, key: str, shape: tuple[int, ...]) -> list[int] | None:
        """The parameter axis of each statistic and basis (``None`` where axes are merged)."""
        if self.working_shape(shape) != shape:
            return None
        return [i for i, r in enumerate(self.rotated_axes(shape)) if r]

    def working_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape the gradient is preconditioned in (``merge_dims`` merges axes)."""
        if self.merge_dims and len(shape) >= 2:
            return merged_shape(shape, self.max_precond_dim)
        return shape

    def rotated_axes(self, shape: tuple[int, ...]) -> list[bool]:
        """Per axis of the working shape: whether it has a statistic and a basis."""
        if len(shape) == 1 and not self.precondition_1d:
            return [False]
        return [n <= self.max_precond_dim for n in shape]

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        reject_complex(self, key, grad, "its eigenbases are of real Gram matrices")
        shape = self.working_shape(grad.shape)
        rotated = self.rotated_axes(shape)
        g = grad.astype(jnp.float32).reshape(shape)
        if key not in self.m:
            self.m[key] = jnp.zeros(shape, jnp.float32)
            self.v[key] = jnp.zeros(shape, jnp.float32)
            if any(rotated):
                sides = [n for n, r in zip(shape, rotated) if r]
                self.gg[key] = [jnp.zeros((n, n), jnp.float32) for n in sides]
                self.q[key] = [jnp.eye(n, dtype=jnp.float32) for n in sides]
        qs = self.q.get(key, [])
        first = self.t == 1  # builds the statistics and bases only
        s = jnp.maximum(self.t, 2) - 1  # Adam's step count (the first call is none)
        b1, b2 = self.b1, self.b2
        rotated_grad = project(g, qs, rotated)
        m = ema(self.m[key], rotated_grad, b1)
        v = ema(self.v[key], rotated_grad**2, b2)
        lr = self.current(self.learning_rate)
        step_size = lr
        if self.correct_bias:
            step_size = lr * jnp.sqrt(1 - b2**s) / (1 - b1**s)
        direction = project_back(m / (jnp.sqrt(v) + self.eps), qs, rotated)
        if self.normalize_grads:
            direction = direction / (1e-30 + jnp.sqrt(jnp.mean(direction**2)))
        update = step_size * direction.reshape(grad.shape)
        # The reference decays the parameter after its step: (p - u)(1 - lr wd).
        p = param.astype(jnp.float32)
        update = update + lr * self.current(self.weight_decay) * (p - update)
        self.m[key] = jnp.where(first, self.m[key], m)
        self.v[key] = jnp.where(first, self.v[key], v)
        if key in self.gg:
            self._refresh(key, g, rotated, first, s)
        return jnp.where(first, 0.0, update).astype(grad.dtype)

    def _refresh(self, key: str, g: jax.Array, rotated: list[bool], first: Any, s: Any) -> None:
        """Update the statistics with ``g``; on the first call and every k steps, the bases."""
        beta = self.b2 if self.shampoo_beta is None else self.shampoo_beta
        axes = [i for i, r in enumerate(rotated) if r]
        gg = [beta * stat + (1 - beta) * gram(g, i) for stat, i in zip(self.gg[key], axes)]
        self.gg[key] = gg

        def keep(m: jax.Array, v: jax.Array, qs: list[jax.Array]) -> Any:
            return m, v, qs

        def by_eigh(m: jax.Array, v: jax.Array, qs: list[jax.Array]) -> Any:
            # Eigenvalues descending (eigh's order, flipped), as the reference.
            return m, v, [jnp.linalg.eigh(stat)[1][:, ::-1] for stat in gg]

        def by_qr(m: jax.Array, v: jax.Array, qs: list[jax.Array]) -> Any:
            m = project_back(m, qs, rotated)
            new = []
            for stat, q, axis in zip(gg, qs, axes):
                order = jnp.argsort(-jnp.diag(q.T @ stat @ q))
                v = jnp.take(v, order, axis=axis)
                new.append(jnp.linalg.qr(stat @ q[:, order])[0])
            return project(m, new, rotated), v, new

        due = (s % self.precondition_frequency == 0) & ~first
        branch = jnp.where(first, 1, jnp.where(due, 2, 0))
        self.m[key], self.v[key], self.q[key] = jax.lax.switch(
            branch, (keep, by_eigh, by_qr), self.m[key], self.v[key], self.q[key]
        )


def project(x: jax.Array, qs: list[jax.Array], rotated: list[bool]) -> jax.Array:
    """``x`` rotated into the eigenbases: :math:`Q^\\top` along each rotated axis."""
    return _rotate(x, qs, rotated, 0)


def project_back(x: jax.Array, qs: list[jax.Array], rotated: list[bool]) -> jax.Array:
    """``x`` rotated back from the eigenbases: :math:`Q` along each rotated axis."""
    return _rotate(x, qs, rotated, 1)


def _rotate(x: jax.Array, qs: list[jax.Array], rotated: list[bool], side: int) -> jax.Array:
    it = iter(qs)
    for r in rotated:
        # Contracting (or moving) axis 0 each time puts it last: after one pass
        # over the axes they are back in order.
        x = jnp.tensordot(x, next(it), axes=[[0], [side]]) if r else jnp.moveaxis(x, 0, -1)
    return x


def merged_shape(shape: tuple[int, ...], max_dim: int) -> tuple[int, ...]:
    """Consecutive axes merged while their product is at most ``max_dim`` (as the reference)."""
    out: list[int] = []
    current = 1
    for n in shape:
        if current * n > max_dim:
            if current > 1:
                out.append(current)
                current = n
            else:
                out.append(n)
                current = 1
        else:
            current *= n
    if current > 1 or not out:
        out.append(current)
    return tuple(out)
