"""Registry rows: PSGDKron, MARS and Cautious."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def cautious_sgd_reference(learning_rate: float = 5e-4, momentum: float = 0.9) -> Any:
    """``Cautious(SGD(learning_rate, momentum))`` in float64 NumPy, after Liang et al.'s C-Lion.

    The update :math:`u` of SGD with momentum is kept where
    :math:`\\operatorname{Re}(u \\bar g) > 0` and scaled by
    ``mask.numel() / (mask.sum() + 1)``.
    """
    import jax
    import numpy as np

    trace: dict[str, Any] = {}

    def step(params: Any, grads: Any, i: int) -> Any:
        if i == 0:
            trace.clear()

        def one(path: Any, p: Any, g: Any) -> Any:
            g = np.asarray(g, np.complex128)
            k = jax.tree_util.keystr(path)
            trace[k] = g + momentum * trace.get(k, 0.0)
            u = learning_rate * trace[k]
            mask = (np.real(u * np.conj(g)) > 0).astype(np.float64)
            mask = mask * (mask.size / (mask.sum() + 1))
            new = np.asarray(p, np.complex128) - u * mask
            return (new if np.iscomplexobj(p) else new.real).astype(p.dtype)

        return jax.tree_util.tree_map_with_path(one, params, grads)

    return step


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    from ... import optim as O
    from .._registry import UNSUPPORTED, Entry

    return {
        "PSGDKron": Entry(
            make=lambda: O.PSGDKron(0.01),
            example="PSGDKron(1e-3, preconditioner_update_probability=1.0)",
            reason="psgd_jax.kron's numbers are in tests/optim/test_psgd_kron.py",
            complex=UNSUPPORTED,  # triangular factors fitted as real matrices
        ),
        "MARS": Entry(
            make=lambda: O.MARS(0.05, weight_decay=1e-3, weight_decay_1d=1e-3),
            example="MARS(3e-3)",
            reason="the authors' torch MARS runs in tests/optim/test_mars.py",
            complex=None,
        ),
        "Cautious": Entry(
            make=lambda: O.Cautious(O.SGD(5e-4, momentum=0.9)),
            example="Cautious(SGD(1e-3))",
            reference=cautious_sgd_reference,
            complex=cautious_sgd_reference,
        ),
    }
