"""Registry rows: optax's gradient transformations."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._registry import Entry

    def then_sgd(transform: Any) -> Any:
        """``Chain(transform, SGD(1e-3))``: a stateless step after the transform."""
        return O.Chain(transform, O.SGD(1e-3))

    def sgd_after(*transforms: Any) -> Any:
        """optax twin of :func:`then_sgd`."""
        return optax.chain(*transforms, optax.sgd(1e-3))

    def row(make: Any, example: str, reference: Any, **kwargs: Any) -> Entry:
        """A transform's row: the same reference on real and complex parameters."""
        return Entry(
            make=lambda: then_sgd(make()),
            example=example,
            reference=lambda: sgd_after(reference()),
            complex=kwargs.pop("complex", lambda: sgd_after(reference())),
            **kwargs,
        )

    return {
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
