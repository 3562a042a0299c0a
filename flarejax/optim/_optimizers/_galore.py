"""GaLore: a base optimizer stepping low-rank projections of the matrices' gradients."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .._base import Optimizer
from .._checks import check_nonnegative
from .._patterns import Pattern
from .._substep import substep
from ._complex import reject_complex
from ._decay import DecoupledDecay
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype

__all__ = ["GaLore"]

# (reduction axes, output axes) of a parameter seen as a matrix.
Axes = tuple[tuple[int, ...], tuple[int, ...]]


def _as_axes(dims: Any) -> Axes | None:
    """``None``, or the axes of a ``GaLoreDimensionNumbers``-like ``dims`` as tuples."""
    if dims is None:
        return None
    red, out = (dims.reduction_axis, dims.output_axis) if hasattr(dims, "output_axis") else dims
    as_tuple = lambda a: (int(a),) if isinstance(a, int) else tuple(int(x) for x in a)  # noqa: E731
    return as_tuple(red), as_tuple(out)


class _Matrix:
    """How one parameter is seen as a matrix: reshapes there and back, and the projector side."""

    def __init__(self, key: str, shape: tuple[int, ...], axes: Axes) -> None:
        ndim = len(shape)
        if ndim < 2:
            raise ValueError(
                f"GaLore projects matrices: parameter {key!r} has shape {shape}; "
                "give it no dimension numbers (None)"
            )
        red = tuple(a % ndim for a in axes[0])
        out = tuple(a % ndim for a in axes[1])
        if set(red) & set(out) or len(set(red) | set(out)) != ndim:
            raise ValueError(
                f"GaLore's dimension numbers for {key!r} (shape {shape}) must split its "
                f"axes into reduction and output axes, got reduction={red}, output={out}"
            )
        self.transpose = red + out
        self.inverse = tuple(sorted(range(ndim), key=lambda i: self.transpose[i]))
        self.rows = math.prod(shape[a] for a in red)
        self.cols = math.prod(shape[a] for a in out)
        self.transposed_shape = tuple(shape[a] for a in self.transpose)
        self.left = self.rows >= self.cols

    def to_2d(self, x: jax.Array) -> jax.Array:
        return x.transpose(self.transpose).reshape(self.rows, self.cols)

    def from_2d(self, x: jax.Array) -> jax.Array:
        return x.reshape(self.transposed_shape).transpose(self.inverse)


class GaLore(Counted, DecoupledDecay, StateDtype):
    r"""GaLore: steps a base optimizer on low-rank projections of the matrices' gradients.

    For a matrix parameter (shape :math:`m \times n`) with gradient :math:`G_t`
    and rank :math:`r' = \min(r, m, n)`, every ``update_proj_gap`` steps
    (from the first) the projector :math:`P` becomes the first :math:`r'`
    left singular vectors of :math:`G_t` if :math:`m \ge n`, else the first
    :math:`r'` right ones; in between it is kept. Then, with the base
    optimizer's update :math:`\mathrm{opt}(\cdot)` and :math:`\alpha` the ``scale``:

    .. math::

        R_t &= P^\top G_t \quad (G_t P \text{ when } m < n) \\
        \theta_t &= \theta_{t-1} - \eta\, \big(\alpha\, P\, \mathrm{opt}(R_t)
            + \lambda\, \theta_{t-1}\big) \quad (\alpha\, \mathrm{opt}(R_t) P^\top)

    The base optimizer's state (Adam's moments, by default) has the projected
    shape :math:`r' \times n` (or :math:`m \times r'`): the memory GaLore saves.
    Other parameters (vectors, scalars) take the base optimizer's update
    :math:`\mathrm{opt}(g_t)` unprojected. The SVD runs in float32.

    The base optimizer gives a direction, not a step: use a learning rate of 1
    (the default is ``Adam(1.0)``, optax's ``scale_by_adam()``), and put the
    weight decay in ``weight_decay``, which acts in the full space. The base
    optimizer sees a projected parameter as :math:`P^\top \theta` (or
    :math:`\theta P`). Equal to ``optax.contrib.galore``; torch.optim has no
    GaLore. Complex parameters are not supported (optax's SVD projection of
    complex gradients drops the conjugate): they raise a ``TypeError``.

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, or a function of the step count.
    rank : int
        :math:`r`, the rank of the projection.
    update_proj_gap : int
        Steps between two SVDs of the gradient.
    scale : float
        :math:`\alpha`, a factor on the projected-back update.
    base_optimizer : Optimizer, optional
        The optimizer run in the projected space (default ``Adam(1.0)``).
    weight_decay : float or schedule
        :math:`\lambda`, decoupled.
    mask : pattern(s) or function of the key, optional
        Decay only the parameters whose dotted key matches (see :class:`AdamW`).
    weight_dimension_numbers : dimension numbers or function of the key, optional
        Which axes of a parameter form the rows and the columns of its matrix:
        ``None`` projects 2-D parameters only; an
        ``optax.contrib.GaLoreDimensionNumbers(reduction_axis, output_axis)`` (or
        a pair ``(reduction_axis, output_axis)``) applies to every parameter
        with two axes or more; a function of the parameter's dotted key returns
        one of those, or ``None`` to leave the parameter unprojected.
    state_dtype : dtype, optional
        The dtype of the projectors and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. The base optimizer steps on
        the projected gradients in this dtype, so its state is in it too. See
        the mixed precision guide.

    References
    ----------
    Zhao, Zhang, Chen, Wang, Anandkumar & Tian, "GaLore: Memory-Efficient LLM
    Training by Gradient Low-Rank Projection", ICML 2024 (arXiv:2403.03507).
    """

    def __init__(
        self,
        learning_rate: float,
        rank: int = 128,
        update_proj_gap: int = 200,
        scale: float = 1.0,
        base_optimizer: Optimizer | None = None,
        weight_decay: float = 0.0,
        mask: Pattern | None = None,
        weight_dimension_numbers: Any = None,
        *,
        state_dtype: Any = None,
    ) -> None:
        check_nonnegative("learning_rate", learning_rate)
        check_nonnegative("scale", scale)
        for name, value in (("rank", rank), ("update_proj_gap", update_proj_gap)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.learning_rate = learning_rate
        self.rank = rank
        self.update_proj_gap = update_proj_gap
        self.scale = scale
        if base_optimizer is None:
            from ._adam import Adam

            base_optimizer = Adam(1.0)
        self.base_optimizer = base_optimizer
        self.init_decay(weight_decay, mask, False)
        if callable(weight_dimension_numbers):
            self.weight_dimension_numbers: Any = weight_dimension_numbers
        else:
            self.weight_dimension_numbers = _as_axes(weight_dimension_numbers)
        self.projector: dict[str, jax.Array] = {}
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def _matrix(self, key: str, param: jax.Array) -> _Matrix | None:
        dims = self.weight_dimension_numbers
        if dims is None:
            return _Matrix(key, param.shape, ((0,), (1,))) if param.ndim == 2 else None
        if callable(dims):
            axes = _as_axes(dims(key))
            return None if axes is None else _Matrix(key, param.shape, axes)
        return _Matrix(key, param.shape, dims) if param.ndim >= 2 else None

    def call_model(
        self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
    ) -> dict[str, jax.Array | None]:
        for key, param in params.items():
            reject_complex(self, key, param, "its projection is real")
        grads = super().call_model(grads)
        refresh = (self.t - 1) % self.update_proj_gap == 0
        matrices = {key: self._matrix(key, params[key]) for key in grads}
        low_grads, low_params = {}, {}
        for key, g in grads.items():
            mat = matrices[key]
            if mat is None:
                low_grads[key], low_params[key] = g, params[key]
                continue
            g2 = mat.to_2d(g)
            r = min(self.rank, mat.rows, mat.cols)
            if key not in self.projector:
                shape = (mat.rows, r) if mat.left else (mat.cols, r)
                self.projector[key] = jnp.zeros(shape, g.dtype)

            def svd_projector(g2: jax.Array = g2, left: bool = mat.left, r: int = r) -> jax.Array:
                u, _, vh = jnp.linalg.svd(g2.astype(jnp.float32), full_matrices=False)
                return (u[:, :r] if left else vh[:r, :].T).astype(g2.dtype)

            proj = lax.cond(refresh, svd_projector, lambda p=self.projector[key]: p)
            self.projector[key] = proj
            p2 = mat.to_2d(params[key])
            low_grads[key] = proj.T @ g2 if mat.left else g2 @ proj
            low_params[key] = proj.T @ p2 if mat.left else p2 @ proj
        low_updates = substep(self.base_optimizer, low_grads, low_params, extras)
        lr = self.current(self.learning_rate)
        out: dict[str, jax.Array | None] = {}
        for key, u in low_updates.items():
            mat = matrices[key]
            if u is None:
                out[key] = None
                continue
            if mat is not None:
                proj = self.projector[key]
                u = mat.from_2d(proj @ u if mat.left else u @ proj.T)
                u = (self.scale * u).astype(grads[key].dtype)
            else:
                # optax scales the projected updates only.
                u = u.astype(grads[key].dtype)
            out[key] = lr * self.decay(key, u, params[key])
        return out

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
