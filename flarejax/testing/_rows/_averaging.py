"""Registry rows: parameter averaging (torch.optim.swa_utils) and diagnostics."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._registry import Entry

    def f32_adam() -> Any:
        return optax.inject_hyperparams(optax.adam)(0.05)

    return {
        "AveragedModel": Entry(
            # Every step joins the average after the first 10: the state moves
            # both before and after the start.
            make=lambda: O.AveragedModel(O.Adam(0.05), start=10, every=2),
            example="AveragedModel(SGD(1e-3))",
            reference=f32_adam,  # the model follows the wrapped optimizer
            complex=lambda: optax.adam(0.05),
        ),
        "Diagnostics": Entry(
            make=lambda: O.Diagnostics(O.Adam(0.05)),
            example="Diagnostics(SGD(1e-3))",
            reference=f32_adam,  # it measures; the model follows the wrapped optimizer
            complex=lambda: optax.adam(0.05),
        ),
    }
