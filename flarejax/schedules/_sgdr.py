"""SGDR: cosine decay with warm restarts."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from ._base import Schedule
from ._join import join
from ._warmup import warmup_cosine_decay

__all__ = ["sgdr"]


def sgdr(cosine_kwargs: Iterable[Mapping[str, Any]]) -> Schedule:
    r"""Cosine cycles with warm restarts, one :func:`warmup_cosine_decay` per cycle.

    Cycle :math:`k` lasts :math:`D_k` steps (its ``decay_steps``) and starts at
    :math:`S_k = \sum_{j < k} D_j`; for :math:`S_k \le t < S_{k+1}`

    .. math:: f(t) = f_k(t - S_k),

    and the last cycle's end value is held after it.

    Parameters
    ----------
    cosine_kwargs
        One mapping per cycle of keyword arguments to :func:`warmup_cosine_decay`
        (``init_value``, ``peak_value``, ``warmup_steps``, ``decay_steps``, ...).

    Returns
    -------
    Schedule

    References
    ----------
    Loshchilov & Hutter, "SGDR", ICLR 2017 (arXiv:1608.03983);
    :func:`optax.sgdr_schedule`.
    """
    cycles = [dict(kwargs) for kwargs in cosine_kwargs]
    if not cycles:
        raise ValueError("cosine_kwargs must hold at least 1 cycle, got 0")
    schedules = [warmup_cosine_decay(**kwargs) for kwargs in cycles]
    ends = itertools.accumulate(kwargs["decay_steps"] for kwargs in cycles)
    return join(schedules, list(ends)[:-1])
