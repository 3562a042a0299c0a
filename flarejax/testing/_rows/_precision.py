"""Registry rows: bfloat16 training: stochastic rounding."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._registry import Entry

    return {
        "StochasticRounding": Entry(
            make=lambda: O.StochasticRounding(O.Adam(0.05)),
            example="StochasticRounding(SGD(1e-3))",
            # float32 and complex64 parameters pass through: the wrapped optimizer exactly.
            reference=lambda: optax.inject_hyperparams(optax.adam)(0.05),
            complex=lambda: optax.adam(0.05),
            bfloat16={
                "skip": "it rounds bfloat16 parameters at random: optax's run only in expectation"
            },
        ),
    }
