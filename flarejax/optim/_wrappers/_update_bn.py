"""Recomputing the batch statistics of an averaged flax.nnx model: torch's ``update_bn``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax.numpy as jnp

from ..._tree import nnx_module

__all__ = ["update_bn"]


def update_bn(
    model: Any,
    batches: Iterable[Any],
    forward: Callable[[Any, Any], Any] | None = None,
) -> Any:
    r"""Recompute the running statistics of every ``nnx.BatchNorm`` of ``model`` over data.

    The statistics of averaged parameters (:class:`AveragedModel`) are none
    of the statistics gathered in training: this runs ``model`` over
    ``batches`` with its BatchNorm layers on batch statistics and sets each
    layer's ``mean`` and ``var`` to the equal-weight average, over the
    :math:`B` batches, of the batch statistics it saw:

    .. math::

        \mu = \frac1B \sum_{b=1}^{B} \mu_b, \qquad
        \sigma^2 = \frac1B \sum_{b=1}^{B} \sigma_b^2

    as ``torch.optim.swa_utils.update_bn(loader, model)`` does (with BatchNorm
    momentum ``None``). The layers' ``momentum`` and ``use_running_average``
    are restored afterwards; the model is updated in place and returned.

    Differences from torch: the other layers keep their mode (torch puts the
    whole model in train mode, so Dropout also runs), and
    :math:`\sigma_b^2` is nnx's biased batch variance where torch's running
    variance takes the unbiased one (:math:`m / (m - 1)` times it, for
    :math:`m` elements per channel).

    Parameters
    ----------
    model : flax.nnx.Module
        The model, typically ``opt.averaged_params(model)``.
    batches : iterable
        The training inputs, e.g. one epoch of them. A tuple or list batch is
        taken as ``(inputs, ...)``, as torch's ``update_bn`` does, unless
        ``forward`` is given.
    forward : callable, optional
        ``forward(model, batch)`` runs the model on a batch; by default
        ``model(batch)`` (``model(batch[0])`` for a tuple or list).

    Returns
    -------
    flax.nnx.Module
        ``model``, with the new statistics.

    Examples
    --------
    .. code-block:: python

        swa = flr.optim.AveragedModel(flr.optim.SGD(0.05), start=800)
        ...  # train
        averaged = flr.optim.update_bn(swa.averaged_params(model), train_batches)
    """
    nnx = nnx_module()
    if nnx is None or not isinstance(model, nnx.Module):
        raise TypeError(
            f"update_bn takes a flax.nnx.Module, got {type(model).__name__}; other models "
            "keep batch statistics outside their parameters: recompute them with your "
            "own forward pass in training mode"
        )
    iterate = getattr(nnx, "iter_modules", None) or type(model).iter_modules
    layers = [m for _, m in iterate(model) if isinstance(m, nnx.BatchNorm)]
    if not layers:
        return model
    saved = [(m.momentum, m.use_running_average) for m in layers]
    means: list[Any] = [0.0] * len(layers)
    variances: list[Any] = [0.0] * len(layers)
    count = 0
    before = [(m.mean.get_value(), m.var.get_value()) for m in layers]
    try:
        for m in layers:
            # Momentum 0: after a batch the running statistics are that batch's own.
            m.momentum = 0.0
            m.use_running_average = False
        for batch in batches:
            if forward is not None:
                forward(model, batch)
            elif isinstance(batch, (tuple, list)):
                model(batch[0])
            else:
                model(batch)
            for i, m in enumerate(layers):
                means[i] = means[i] + m.mean.get_value()
                variances[i] = variances[i] + m.var.get_value()
            count += 1
    except BaseException:
        for m, (mean, var) in zip(layers, before):  # a failed pass changes nothing
            m.mean.set_value(mean)
            m.var.set_value(var)
        raise
    finally:
        for m, (momentum, use_running_average) in zip(layers, saved):
            m.momentum = momentum
            m.use_running_average = use_running_average
    if count == 0:
        raise ValueError("update_bn: batches is empty; pass at least one batch of inputs")
    for i, m in enumerate(layers):
        m.mean.set_value(jnp.asarray(means[i] / count, m.mean.get_value().dtype))
        m.var.set_value(jnp.asarray(variances[i] / count, m.var.get_value().dtype))
    return model
