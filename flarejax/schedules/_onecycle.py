"""The one-cycle policy: up to a peak, then down far below the start."""

from __future__ import annotations

from jax.typing import ArrayLike

from .._core.checks import check_real, check_steps
from ._base import Schedule
from ._piecewise import cosine_blend, interpolate, linear_blend

__all__ = ["cosine_onecycle", "linear_onecycle"]


def _check_common(
    transition_steps: int, pct_start: float, div_factor: float, final_div_factor: float
) -> int:
    check_real("pct_start", pct_start, ge=0.0, le=1.0)
    check_real("div_factor", div_factor, gt=0.0)
    check_real("final_div_factor", final_div_factor, gt=0.0)
    return check_steps("transition_steps", transition_steps, minimum=1)


def linear_onecycle(
    transition_steps: int,
    peak_value: ArrayLike,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""One cycle of three linear phases.

    With :math:`T` = ``transition_steps``, :math:`P` = ``peak_value`` and
    :math:`I = P / d` (``d`` = ``div_factor``), the value goes linearly

    .. math::
        I \xrightarrow{[0,\ \lfloor a T \rfloor)} P
        \xrightarrow{[\lfloor a T \rfloor,\ \lfloor b T \rfloor)} I
        \xrightarrow{[\lfloor b T \rfloor,\ T)} I / d_f

    (:math:`a` = ``pct_start``, :math:`b` = ``pct_final``, :math:`d_f` =
    ``final_div_factor``) and stays at :math:`I / d_f` from step :math:`T` on.

    Parameters
    ----------
    transition_steps
        :math:`T > 0`, the length of the cycle.
    peak_value
        :math:`P`, reached at step :math:`\lfloor a T \rfloor`.
    pct_start
        :math:`a \in [0, 1]`, the fraction of the cycle spent rising.
    pct_final
        :math:`b \in [a, 1]`, the fraction of the cycle at which the value is back
        at :math:`I`.
    div_factor
        :math:`d > 0`; the starting value is :math:`P / d`.
    final_div_factor
        :math:`d_f > 0`; the final value is :math:`P / (d\, d_f)`.

    Returns
    -------
    Schedule

    References
    ----------
    Smith & Topin, "Super-Convergence", 2017 (arXiv:1708.07120);
    :func:`optax.linear_onecycle_schedule`.
    """
    transition_steps = _check_common(transition_steps, pct_start, div_factor, final_div_factor)
    check_real("pct_final", pct_final, ge=pct_start, le=1.0)
    init_value = peak_value / div_factor
    starts = [0, int(pct_start * transition_steps), int(pct_final * transition_steps)]
    values = [init_value, peak_value, init_value, init_value / final_div_factor]
    return interpolate([*starts, transition_steps], values, linear_blend)


def cosine_onecycle(
    transition_steps: int,
    peak_value: ArrayLike,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""One cycle of two cosine phases: up to ``peak_value``, then down.

    With :math:`I = P / d`, the value rises from :math:`I` to :math:`P` over
    :math:`[0, \lfloor a T \rfloor)` and falls to :math:`I / d_f` over
    :math:`[\lfloor a T \rfloor, T)`, each time along half a cosine,

    .. math::
        f = v_0 + (v_1 - v_0)\, \tfrac12 \left(1 - \cos \pi x\right),

    :math:`x` being the fraction of the phase done; it stays at :math:`I / d_f`
    from step :math:`T` on. Arguments as in :func:`linear_onecycle`.

    Returns
    -------
    Schedule

    References
    ----------
    Smith & Topin, "Super-Convergence", 2017 (arXiv:1708.07120);
    :func:`optax.cosine_onecycle_schedule`.
    """
    transition_steps = _check_common(transition_steps, pct_start, div_factor, final_div_factor)
    init_value = peak_value / div_factor
    starts = [0, int(pct_start * transition_steps), transition_steps]
    values = [init_value, peak_value, init_value / final_div_factor]
    return interpolate(starts, values, cosine_blend)
