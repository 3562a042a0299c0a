"""Registry rows: optax's gradient transformations."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._registry import Entry

    def then_sgd(transform: Any, lr: float = 1e-3) -> Any:
        """``Chain(transform, SGD(lr))``: a stateless step after the transform."""
        return O.Chain(transform, O.SGD(lr))

    def sgd_after(transform: Any, lr: float = 1e-3) -> Any:
        """optax twin of :func:`then_sgd`."""
        return optax.chain(transform, optax.sgd(lr))

    def row(make: Any, example: str, reference: Any, lr: float = 1e-3, **kwargs: Any) -> Entry:
        """A transform's row: the same reference on real and complex parameters."""
        return Entry(
            make=lambda: then_sgd(make(), lr),
            example=example,
            reference=lambda: sgd_after(reference(), lr),
            complex=kwargs.pop("complex", lambda: sgd_after(reference(), lr)),
            **kwargs,
        )

    return {
        "ApplyEvery": row(
            lambda: O.ApplyEvery(3),
            "ApplyEvery(4)",
            lambda: optax.apply_every(3),
            lr=3e-4,  # the step sums 3 gradients: Rosenbrock's would diverge at 1e-3
        ),
        "NormalizeByUpdateNorm": row(
            O.NormalizeByUpdateNorm,
            "NormalizeByUpdateNorm()",
            optax.normalize_by_update_norm,
        ),
        "ScaleByParamBlockNorm": row(
            O.ScaleByParamBlockNorm,
            "ScaleByParamBlockNorm()",
            optax.scale_by_param_block_norm,
        ),
        "ScaleByParamBlockRMS": row(
            O.ScaleByParamBlockRMS,
            "ScaleByParamBlockRMS()",
            optax.scale_by_param_block_rms,
        ),
        "ScaleByTrustRatio": row(
            lambda: O.ScaleByTrustRatio(trust_coefficient=0.5, eps=1e-3),
            "ScaleByTrustRatio()",
            lambda: optax.scale_by_trust_ratio(trust_coefficient=0.5, eps=1e-3),
        ),
    }
