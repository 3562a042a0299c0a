"""Registry rows: optax's gradient transformations."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["entries"]

# Each gradient g becomes this batch of per-example gradients (scaled copies of g).
EXAMPLE_SCALES = (1.0, -0.5, 2.0)


@functools.cache
def per_example_batch() -> type:
    """An optimizer class feeding its member a batch of per-example gradients made from each
    gradient, so that a per-example clip runs where the conformance checks give plain ones."""
    import jax
    import jax.numpy as jnp

    from ...optim import Optimizer
    from ...optim._substep import substep

    class PerExampleBatch(Optimizer):
        def __init__(self, opt: Optimizer) -> None:
            self.opt = opt

        def call_model(
            self, grads: dict[str, jax.Array], *, params: dict[str, jax.Array], **extras: Any
        ) -> dict[str, jax.Array | None]:
            batch = {k: jnp.stack([s * g for s in EXAMPLE_SCALES]) for k, g in grads.items()}
            return substep(self.opt, batch, params, extras)

        def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
            return grad

    return PerExampleBatch


def skip_every_third(step: Any) -> Any:
    """A condition of the step count: false at steps 2, 5, 8, ..."""
    return step % 3 != 2


def update_norm(updates: Any) -> Any:
    """A measurement of the updates: their global norm."""
    import optax

    return optax.tree.norm(updates)


def norm_above_one(updates: Any) -> Any:
    """A measurement of the updates: whether their global norm exceeds 1 (a bool)."""
    return update_norm(updates) > 1.0


def optax_per_example_batch() -> Any:
    """optax twin of :func:`per_example_batch`: a stateless transformation."""
    import jax
    import jax.numpy as jnp
    import optax

    def update(updates: Any, state: Any, params: Any = None) -> Any:
        stack = lambda g: jnp.stack([s * g for s in EXAMPLE_SCALES])  # noqa: E731
        return jax.tree.map(stack, updates), state

    return optax.GradientTransformation(optax.init_empty_state, update)


def optax_per_example(clip: Any, *args: Any) -> Any:
    """optax's per-example clip function as a transformation (its first result)."""
    import optax

    def update(updates: Any, state: Any, params: Any = None) -> Any:
        return clip(updates, *args)[0], state

    return optax.GradientTransformation(optax.init_empty_state, update)


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

    def per_example_row(make: Any, example: str, clip: Any, *args: Any) -> Entry:
        """A per-example clip's row: it sums a batch made from the conformance gradients."""

        def reference() -> Any:
            return optax.chain(
                optax_per_example_batch(), optax_per_example(clip, *args), optax.sgd(1e-3)
            )

        return Entry(
            make=lambda: per_example_batch()(then_sgd(make())),
            example=example,
            reference=reference,
            complex=reference,
        )

    def f32(factory: Any, *args: Any, **kwargs: Any) -> Any:
        """``factory(...)`` with float32 hyperparameters, as flarejax holds them."""
        return optax.inject_hyperparams(factory)(*args, **kwargs)

    return {
        "MeasureWithEMA": row(
            lambda: O.MeasureWithEMA(update_norm, 0.9),
            "MeasureWithEMA(optax.tree.norm, 0.99)",
            lambda: optax.monitor({"ema": optax.measure_with_ema(update_norm, 0.9)}),
        ),
        "Monitor": row(
            lambda: O.Monitor(
                {"norm": update_norm, "clipped": O.MeasureWithEMA(norm_above_one, 0.9)}
            ),
            'Monitor({"norm": optax.tree.norm})',
            lambda: optax.monitor(
                {"norm": update_norm, "clipped": optax.measure_with_ema(norm_above_one, 0.9)}
            ),
        ),
        "Snapshot": row(
            lambda: O.Snapshot("norm", update_norm),
            'Snapshot("norm", optax.tree.norm)',
            lambda: optax.snapshot("norm", update_norm),
        ),
        "IncrementalUpdate": Entry(
            make=lambda: O.IncrementalUpdate(O.Adam(0.05), 0.1),
            example="IncrementalUpdate(SGD(1e-3), 0.01)",
            # The model follows the wrapped optimizer; the copy is checked in
            # tests/optim/test_target.py against optax.incremental_update.
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
        ),
        "PeriodicUpdate": Entry(
            make=lambda: O.PeriodicUpdate(O.Adam(0.05), 3),
            example="PeriodicUpdate(SGD(1e-3), 100)",
            # As IncrementalUpdate: tests/optim/test_target.py checks the copy.
            reference=lambda: f32(optax.adam, 0.05),
            complex=lambda: optax.adam(0.05),
        ),
        "ConditionallyMask": Entry(
            make=lambda: O.ConditionallyMask(O.Adam(0.05), skip_every_third),
            example="ConditionallyMask(SGD(1e-3), lambda step: step % 2 == 0)",
            reference=lambda: optax.conditionally_mask(f32(optax.adam, 0.05), skip_every_third),
            complex=lambda: optax.conditionally_mask(optax.adam(0.05), skip_every_third),
        ),
        "ConditionallyTransform": Entry(
            # At the other steps the raw gradient passes: a small step after it. Adam(1.0)
            # gives the direction optax.scale_by_adam gives (optax.adam(1.0) negates it).
            make=lambda: then_sgd(O.ConditionallyTransform(O.Adam(1.0), skip_every_third)),
            example="ConditionallyTransform(ClipByGlobalNorm(1.0), lambda step: step < 100)",
            reference=lambda: sgd_after(
                optax.conditionally_transform(f32(optax.scale_by_adam), skip_every_third)
            ),
            complex=lambda: sgd_after(
                optax.conditionally_transform(optax.scale_by_adam(), skip_every_third)
            ),
        ),
        "PerExampleGlobalNormClip": per_example_row(
            lambda: O.PerExampleGlobalNormClip(1.0),
            "PerExampleGlobalNormClip(1.0)",
            optax.per_example_global_norm_clip,
            1.0,
        ),
        "PerExampleLayerNormClip": per_example_row(
            lambda: O.PerExampleLayerNormClip(1.0, uniform=False),
            "PerExampleLayerNormClip(1.0)",
            optax.per_example_layer_norm_clip,
            1.0,
            False,
        ),
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
