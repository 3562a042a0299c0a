"""Registry rows: Shampoo and SOAP."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    from ... import optim as O
    from .. import _registry as R

    return {
        "Shampoo": R.Entry(
            # Small blocks, so that the nested model's 4x4 kernel is split and refreshed;
            # a matrix_eps above float32 rounding of the rank-1 blocks' zero eigenvalues,
            # so that eager, jit and to_optax (differently fused) agree to 1e-5.
            make=lambda: O.Shampoo(0.05, matrix_eps=1e-3, block_size=4, precondition_frequency=5),
            example="Shampoo(1e-3)",
            reason="optax has no Shampoo: see tests/optim/test_shampoo.py (float64 NumPy)",
            complex=R.UNSUPPORTED,  # its statistics are real Gram matrices
        ),
        "SOAP": R.Entry(
            # Refreshes by QR within the 20 steps of the row.
            make=lambda: O.SOAP(0.05, precondition_frequency=5),
            example="SOAP(3e-3)",
            reason="optax has no SOAP: see tests/optim/test_soap.py (the authors' PyTorch code)",
            complex=R.UNSUPPORTED,  # its eigenbases are of real Gram matrices
        ),
    }
