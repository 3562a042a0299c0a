"""Muon: momentum orthogonalized by Newton–Schulz, with an Adam fallback."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from .._checks import check_nonnegative, check_range
from ._complex import abs_sq, real_like
from ._moments import Counted, new_counter
from ._mu_dtype import StateDtype, as_mu_dtype, moment_dtype

__all__ = ["Muon"]

_NS_PRESETS: dict[str, Any] = {
    "standard": (3.4445, -4.7750, 2.0315),
    "dion": (
        (4.0848, -6.8946, 2.9270),
        (3.9505, -6.3029, 2.6377),
        (3.7418, -5.5913, 2.3037),
        (2.8769, -3.1427, 1.2046),
        (2.8366, -3.0525, 1.2012),
    ),
}
_PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")

Axes = int | Sequence[int]
DimensionNumbers = tuple[Axes, Axes]
"""``(reduction_axis, output_axis)``, e.g. ``optax.contrib.MuonDimensionNumbers``."""


class Muon(Counted, StateDtype):
    r"""Muon: momentum orthogonalized by Newton–Schulz iterations.

    For a matrix parameter (a 2-D array, or any array given dimension numbers):

    .. math::

        m_t &= \beta\, m_{t-1} + (1 - \beta)\, g_t \\
        \hat m_t &= \beta\, \frac{m_t}{1 - \beta^{t+1}} + (1 - \beta)\, \frac{g_t}{1 - \beta^t}
        \quad\text{(without Nesterov: } \hat m_t = m_t / (1 - \beta^t)\text{)} \\
        O_t &= \mathrm{NS}_K\big(\hat m_t / (\lVert \hat m_t \rVert_F + \varepsilon)\big), \qquad
        \mathrm{NS}: X \mapsto a X + (b A + c A^2) X,\ A = X X^\top \\
        \theta_t &= \theta_{t-1} - \eta\,\big(s\, O_t + \lambda\, \theta_{t-1}\big), \qquad
        s = \sqrt{\max(1, d_{out} / d_{in})}

    :math:`K` (``ns_steps``) Newton–Schulz steps push every singular value of
    :math:`\hat m_t` towards 1, i.e. :math:`O_t \approx U V^\top` for
    :math:`\hat m_t = U S V^\top`. Every other parameter (vectors, scalars, or
    those the dimension numbers leave out) is updated by AdamW with
    ``adam_b1``, ``adam_b2``, ``eps``, ``adam_eps_root``, ``adam_weight_decay``,
    ``adam_learning_rate`` and the same ``nesterov`` flag (Nesterov Adam by
    default). Equal to ``optax.contrib.muon``. ``torch.optim.Muon`` differs: its
    momentum is undamped and not bias-corrected (:math:`B_t = \mu B_{t-1} + g_t`),
    and it takes only 2-D parameters (no Adam fallback).

    Parameters
    ----------
    learning_rate : float or schedule
        :math:`\eta`, or a function of the step count.
    ns_coeffs : tuple of 3 floats, tuple of such tuples, or str
        :math:`(a, b, c)`; a tuple of tuples gives one triple per step (at most
        ``ns_steps`` of them, all used); or a preset, ``"standard"`` or ``"dion"``.
    ns_steps : int
        :math:`K`, the number of Newton–Schulz steps.
    beta : float
        The momentum decay :math:`\beta`.
    eps : float
        :math:`\varepsilon`, in the normalisation before Newton–Schulz and in
        the Adam fallback's denominator.
    weight_decay : float or schedule
        :math:`\lambda` for the matrix parameters, scaled by the learning rate.
    weight_decay_mask : callable, optional
        ``mask(key, param) -> bool``: which matrix parameters are decayed
        (default: all). optax takes a tree of booleans; flarejax names
        parameters by their dotted keys.
    mu_dtype : dtype, optional
        The dtype of the momentum (default: the gradient's).
    nesterov : bool
        Nesterov momentum, for Muon and for the Adam fallback.
    adaptive : bool
        Scale :math:`O_t` by :math:`\langle \hat m_t, O_t \rangle` (the dual norm).
    preconditioning : {"frobenius", "spectral", "aol", "schatten"}
        The normalisation before Newton–Schulz: by the Frobenius norm, by the
        spectral norm, or the first step rescaled as in AOL or by the Schatten-4
        norm.
    adam_b1, adam_b2, adam_eps_root, adam_weight_decay : float
        The Adam fallback's hyperparameters.
    adam_learning_rate : float or schedule, optional
        The Adam fallback's learning rate (default: ``learning_rate``).
    muon_weight_dimension_numbers : callable, optional
        ``dims(key, param) -> (reduction_axis, output_axis) | None``: the axes
        (ints or tuples of ints) that form the matrix's rows and columns, the
        remaining axes being batch axes orthogonalised independently; ``None``
        sends the parameter to Adam. Default: 2-D parameters use Muon with
        axes ``(0, 1)``. optax takes a tree of ``MuonDimensionNumbers`` (which
        the callable may return).
    consistent_rms : float, optional
        If given, :math:`s = \sqrt{\max(d_{in}, d_{out})}` times this value,
        which makes the update's RMS independent of the shape.
    state_dtype : dtype, optional
        The dtype of all state and of the step's arithmetic (default: the
        gradient's); the update is cast once to the parameter's dtype, e.g.
        ``jnp.float32`` for bfloat16 parameters. ``mu_dtype``, when given,
        still sets the first moment's. See the mixed precision guide.

    References
    ----------
    Jordan et al., "Muon: An optimizer for hidden layers in neural networks",
    blog post, 2024, https://kellerjordan.github.io/posts/muon/.
    Liu et al., "Muon is Scalable for LLM Training", 2025 (``consistent_rms``).
    """

    def __init__(
        self,
        learning_rate: float | Callable[[Any], Any],
        ns_coeffs: Any = _NS_PRESETS["standard"],
        ns_steps: int = 5,
        beta: float = 0.95,
        eps: float = 1e-8,
        weight_decay: float | Callable[[Any], Any] = 0.0,
        weight_decay_mask: Callable[[str, jax.Array], bool] | None = None,
        mu_dtype: Any = None,
        *,
        nesterov: bool = True,
        adaptive: bool = False,
        preconditioning: str = "frobenius",
        adam_b1: float = 0.9,
        adam_b2: float = 0.999,
        adam_eps_root: float = 0.0,
        adam_weight_decay: float | Callable[[Any], Any] = 0.0,
        adam_learning_rate: float | Callable[[Any], Any] | None = None,
        muon_weight_dimension_numbers: Callable[[str, jax.Array], DimensionNumbers | None]
        | None = None,
        consistent_rms: float | None = None,
        state_dtype: Any = None,
    ) -> None:
        if isinstance(ns_coeffs, str):
            if ns_coeffs not in _NS_PRESETS:
                raise ValueError(
                    f"ns_coeffs must be one of {sorted(_NS_PRESETS)} or coefficients, "
                    f"got {ns_coeffs!r}"
                )
            ns_coeffs = _NS_PRESETS[ns_coeffs]
        coeffs = jnp.asarray(ns_coeffs, jnp.float32)
        if coeffs.ndim not in (1, 2) or coeffs.shape[-1] != 3:
            raise ValueError(f"ns_coeffs must have shape (3,) or (n, 3), got {coeffs.shape}")
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 1:
            raise ValueError(f"ns_steps must be an integer >= 1, got {ns_steps!r}")
        if coeffs.ndim == 2 and coeffs.shape[0] > ns_steps:
            raise ValueError(f"ns_coeffs has {coeffs.shape[0]} rows, more than ns_steps={ns_steps}")
        if preconditioning not in _PRECONDITIONINGS:
            raise ValueError(
                f"preconditioning must be one of {_PRECONDITIONINGS}, got {preconditioning!r}"
            )
        check_nonnegative("learning_rate", learning_rate)
        check_range("beta", beta, 0, 1)
        check_nonnegative("eps", eps)
        check_nonnegative("weight_decay", weight_decay)
        check_range("adam_b1", adam_b1, 0, 1)
        check_range("adam_b2", adam_b2, 0, 1)
        check_nonnegative("adam_eps_root", adam_eps_root)
        check_nonnegative("adam_weight_decay", adam_weight_decay)
        check_nonnegative("adam_learning_rate", adam_learning_rate)
        check_nonnegative("consistent_rms", consistent_rms)
        self.learning_rate = learning_rate
        self.ns_coeffs = coeffs
        self.ns_steps = ns_steps
        self.beta = beta
        self.eps = eps
        self.weight_decay = weight_decay
        self.weight_decay_mask = weight_decay_mask
        self.mu_dtype = as_mu_dtype(mu_dtype)
        self.nesterov = nesterov
        self.adaptive = adaptive
        self.preconditioning = preconditioning
        self.adam_b1 = adam_b1
        self.adam_b2 = adam_b2
        self.adam_eps_root = adam_eps_root
        self.adam_weight_decay = adam_weight_decay
        self.adam_learning_rate = adam_learning_rate
        self.muon_weight_dimension_numbers = muon_weight_dimension_numbers
        self.consistent_rms = consistent_rms
        self.mu: dict[str, jax.Array] = {}
        self.nu: dict[str, jax.Array] = {}  # Adam's second moment, fallback parameters only
        self.init_state_dtype(state_dtype)
        self.t = new_counter()

    def call_param(self, key: str, grad: jax.Array, *, param: jax.Array, **_: Any) -> jax.Array:
        dims = self.dimension_numbers(key, param)
        if key not in self.mu:
            self.mu[key] = jnp.zeros_like(grad, dtype=moment_dtype(self.mu_dtype, grad))
            if dims is None:
                self.nu[key] = real_like(grad)  # |g|^2 is real, for complex g too
        if dims is None:
            return self._adam(key, grad, param)
        return self._muon(key, grad, param, dims)

    def dimension_numbers(
        self, key: str, param: jax.Array
    ) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """The (reduction, output) axes of ``param`` for Muon, or ``None`` for Adam."""
        if self.muon_weight_dimension_numbers is None:
            return ((0,), (1,)) if param.ndim == 2 else None
        dims = self.muon_weight_dimension_numbers(key, param)
        if dims is None:
            return None
        if param.ndim < 2:
            raise ValueError(
                f"Muon parameters must have rank >= 2, but muon_weight_dimension_numbers "
                f"gave axes for {key!r} of shape {tuple(param.shape)}"
            )
        red, out = (tuple(a % param.ndim for a in _tuple(axes)) for axes in dims)
        if set(red) & set(out):
            raise ValueError(
                f"the reduction axes {red} and output axes {out} of {key!r} must be disjoint"
            )
        return red, out

    def _momentum(self, key: str, grad: jax.Array, b: Any) -> jax.Array:
        """Update the first moment; return its (Nesterov) bias-corrected estimate."""
        m = (1 - b) * grad + b * self.mu[key]
        self.mu[key] = m.astype(self.mu[key].dtype)
        if self.nesterov:
            return b * _debias(m, b, self.t + 1) + (1 - b) * _debias(grad, b, self.t)
        return _debias(m, b, self.t)

    def _muon(
        self, key: str, grad: jax.Array, param: jax.Array, dims: tuple[tuple[int, ...], ...]
    ) -> jax.Array:
        m_hat = self._momentum(key, grad, self.beta)
        o = orthogonalize(
            m_hat, self.ns_coeffs, self.ns_steps, self.preconditioning, self.eps, dims
        )
        if self.adaptive:
            o = jnp.sum(m_hat.conj() * o) * o
        fan_in = math.prod(param.shape[a] for a in dims[0])
        fan_out = math.prod(param.shape[a] for a in dims[1])
        if self.consistent_rms is None:
            update = jnp.sqrt(jnp.maximum(1, fan_out / fan_in)) * o
        else:
            update = jnp.sqrt(jnp.maximum(fan_in, fan_out)) * self.consistent_rms * o
        if self.weight_decay_mask is None or self.weight_decay_mask(key, param):
            update = update + self.current(self.weight_decay) * param
        return self.current(self.learning_rate) * update

    def _adam(self, key: str, grad: jax.Array, param: jax.Array) -> jax.Array:
        m_hat = self._momentum(key, grad, self.adam_b1)
        v = (1 - self.adam_b2) * abs_sq(grad) + self.adam_b2 * self.nu[key]
        self.nu[key] = v.astype(self.nu[key].dtype)
        v_hat = _debias(v, self.adam_b2, self.t)
        update = m_hat / (jnp.sqrt(v_hat + self.adam_eps_root) + self.eps)
        lr = self.learning_rate if self.adam_learning_rate is None else self.adam_learning_rate
        return self.current(lr) * (update + self.current(self.adam_weight_decay) * param)


def _tuple(axes: Axes) -> tuple[int, ...]:
    return (axes,) if isinstance(axes, int) else tuple(axes)


def _debias(moment: jax.Array, decay: Any, count: jax.Array) -> jax.Array:
    # The correction is computed in float32 and only then cast, as optax does, so
    # that decay**count does not round to 1 in bfloat16.
    return moment / (1 - decay**count).astype(moment.dtype)


def orthogonalize(
    x: jax.Array,
    ns_coeffs: jax.Array,
    ns_steps: int = 5,
    preconditioning: str = "frobenius",
    eps: Any = 1e-8,
    dims: tuple[tuple[int, ...], ...] = ((0,), (1,)),
) -> jax.Array:
    """Approximately orthogonalise ``x`` over the axes ``dims`` by Newton–Schulz.

    ``x`` is viewed as a batch of matrices with rows ``dims[0]`` and columns
    ``dims[1]`` (the other axes are the batch); each matrix is normalised, then
    iterated ``ns_steps`` times (once per row of a 2-D ``ns_coeffs``).
    """
    red, out = dims
    batch = tuple(a for a in range(x.ndim) if a not in red and a not in out)
    perm = batch + red + out
    sizes = [tuple(x.shape[a] for a in axes) for axes in (batch, red, out)]
    flat = x.transpose(perm).reshape([math.prod(s) for s in sizes])

    def one(m: jax.Array) -> jax.Array:
        # f(X^T) = f(X)^T, and X X^T is cheaper on the short side.
        transposed = m.shape[0] > m.shape[1]
        m = m.T if transposed else m
        if preconditioning == "frobenius":
            m = m / (jnp.linalg.norm(m, ord="fro") + eps)
        elif preconditioning == "spectral":
            m = m / (jnp.linalg.norm(m, ord=2) + eps)
        coeffs = ns_coeffs.astype(m.dtype)

        def step(i: jax.Array, m: jax.Array, c: jax.Array) -> jax.Array:
            if preconditioning in ("aol", "schatten"):
                return jax.lax.cond(
                    i == 0,
                    lambda m: _newton_schulz_step(m, c, preconditioning),
                    lambda m: _newton_schulz_step(m, c, ""),
                    m,
                )
            return _newton_schulz_step(m, c, "")

        # A rolled loop (optax unrolls it): the same arithmetic, compiled about twice as fast.
        if coeffs.ndim == 1:
            m = jax.lax.fori_loop(0, ns_steps, lambda i, m: step(i, m, coeffs), m)
        else:

            def body(carry: tuple[jax.Array, jax.Array], c: jax.Array) -> Any:
                i, m = carry
                return (i + 1, step(i, m, c)), None

            (_, m), _ = jax.lax.scan(body, (jnp.zeros((), jnp.int32), m), coeffs)
        return m.T if transposed else m

    inverse = sorted(range(x.ndim), key=lambda i: perm[i])
    return jax.vmap(one)(flat).reshape(sizes[0] + sizes[1] + sizes[2]).transpose(inverse)


def _newton_schulz_step(x: jax.Array, c: jax.Array, first: str) -> jax.Array:
    """``a X + (b A + c A^2) X`` with ``A = X X^T``; AOL/Schatten rescale on the first step."""
    if first == "schatten":
        a = x @ x.T
        s = jax.lax.rsqrt(jnp.clip(jnp.linalg.norm(a, ord="fro"), min=1e-8))
        x, a = x * s, a * s**2
    else:
        a = x @ x.T.conj()
        if first == "aol":
            s = jax.lax.rsqrt(jnp.clip(jnp.abs(a).sum(axis=-1), min=1e-8))[:, None]
            x, a = x * s, a * s * s.T
    b = c[1] * a + c[2] * a @ a
    return c[0] * x + b @ x
