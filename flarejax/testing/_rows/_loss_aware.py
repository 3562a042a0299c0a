"""Registry rows: what uses the loss, a second gradient or per-example gradients."""

from __future__ import annotations

from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._models import loss_extras
    from .._registry import UNSUPPORTED, Entry, Variant

    def f32(factory: Any, *args: Any, **kwargs: Any) -> Any:
        """``factory(...)`` with its float hyperparameters held as float32 arrays, as flarejax."""
        return optax.inject_hyperparams(factory)(*args, **kwargs)

    def f32_static(factory: Any, static: tuple[str, ...], *args: Any, **kwargs: Any) -> Any:
        return optax.inject_hyperparams(factory, static_args=static)(*args, **kwargs)

    lr_decay = optax.linear_schedule(1.0, 0.1, 30)

    return {
        "Mechanic": Entry(
            make=lambda: O.Mechanic(O.Adam(0.05)),
            example="Mechanic(SGD(1e-3))",
            # Plain optax.adam: under inject_hyperparams its bfloat16 state turns NaN.
            reference=lambda: optax.contrib.mechanize(optax.adam(0.05)),
            complex=UNSUPPORTED,  # learns its scale from real inner products
            variants={
                "options": Variant(
                    lambda: (
                        lambda: O.Mechanic(
                            O.SGD(1.0, momentum=0.9), weight_decay=0.0, s_init=1e-4, num_betas=3
                        ),
                        optax.contrib.mechanize(
                            f32(optax.sgd, 1.0, momentum=0.9),
                            weight_decay=0.0,
                            s_init=1e-4,
                            num_betas=3,
                        ),
                    )
                ),
            },
        ),
        "MoMo": Entry(
            make=lambda: O.MoMo(),
            example="MoMo()",
            reference=lambda: f32(optax.contrib.momo),
            complex=UNSUPPORTED,  # a real inner product sets the step (optax's is complex)
            options={"extras": loss_extras},
            variants={
                "adapt_lower_bound": Variant(
                    lambda: (
                        lambda: O.MoMo(0.5, lower_bound=-1.0, adapt_lower_bound=True),
                        f32_static(
                            optax.contrib.momo,
                            ("adapt_lower_bound",),
                            0.5,
                            lower_bound=-1.0,
                            adapt_lower_bound=True,
                        ),
                    ),
                    options={"extras": loss_extras},
                ),
                "weight_decay_schedule": Variant(
                    lambda: (
                        lambda: O.MoMo(lr_decay, beta=0.8, weight_decay=0.1),
                        f32(optax.contrib.momo, lr_decay, beta=0.8, weight_decay=0.1),
                    ),
                    options={"extras": loss_extras},
                ),
            },
        ),
        "MoMoAdam": Entry(
            make=lambda: O.MoMoAdam(),
            example="MoMoAdam()",
            # Plain optax: under inject_hyperparams its bfloat16 run turns NaN at step 1.
            reference=lambda: optax.contrib.momo_adam(),
            complex=UNSUPPORTED,  # a real inner product sets the step (optax's is complex)
            options={"extras": loss_extras},
            variants={
                "adapt_lower_bound": Variant(
                    lambda: (
                        lambda: O.MoMoAdam(0.05, lower_bound=-1.0, adapt_lower_bound=True),
                        f32_static(
                            optax.contrib.momo_adam,
                            ("adapt_lower_bound",),
                            0.05,
                            lower_bound=-1.0,
                            adapt_lower_bound=True,
                        ),
                    ),
                    options={"extras": loss_extras},
                ),
                "weight_decay_schedule": Variant(
                    lambda: (
                        lambda: O.MoMoAdam(lr_decay, weight_decay=0.1),
                        f32(optax.contrib.momo_adam, lr_decay, weight_decay=0.1),
                    ),
                    options={"extras": loss_extras},
                ),
            },
        ),
    }
