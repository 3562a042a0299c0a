"""Registry rows: optax.contrib optimizers, OptimisticAdam and torch's ASGD."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["entries"]


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import jax
    import numpy as np
    import optax

    from ... import optim as O
    from .._registry import UNSUPPORTED, Entry, Variant

    def f32(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``factory(...)`` with its float hyperparameters held as float32 arrays, as flarejax."""
        return optax.inject_hyperparams(factory)(*args, **kwargs)

    def simplified_ademamix_reference(
        learning_rate: float, b1: float = 0.99, b2: float = 0.95, eps: float = 1e-8
    ) -> Any:
        """Simplified AdEMAMix in complex128 NumPy with |g|^2 (optax squares, unconjugated)."""
        m: dict[str, Any] = {}
        v: dict[str, Any] = {}

        def step(params: Any, grads: Any, i: int) -> Any:
            def one(path: Any, p: Any, g: Any) -> Any:
                g = np.asarray(g, np.complex128)
                k = jax.tree_util.keystr(path)
                m[k] = g + b1 * m.get(k, 0.0)
                v[k] = b2 * v.get(k, 0.0) + (1 - b2) * np.abs(g) ** 2
                v_hat = v[k] / (1 - b2 ** (i + 1))
                update = learning_rate * m[k] / (np.sqrt(v_hat) + eps)
                return (np.asarray(p, np.complex128) - update).astype(p.dtype)

            return jax.tree_util.tree_map_with_path(one, params, grads)

        return step

    ALPHA = optax.linear_schedule(0.0, 5.0, 20)

    def variant(make: Callable[[], Any], reference: Callable[[], Any], **kw: Any) -> Any:
        """A cheap variant: 20 steps on the nested model (every kind of leaf)."""
        return Variant(lambda: (make, reference()), steps=20, models=("nested",), **kw)

    def torch_asgd_reference(
        learning_rate: float,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
    ) -> Any:
        """``torch.optim.ASGD``'s step in float64 NumPy (complex128 for complex leaves).

        A port of ``_single_tensor_asgd`` in torch/optim/asgd.py (torch's defaults
        for the keywords). Each step starts from the parameters it is given, which
        are its own last output held in the leaves' dtype, as torch holds its
        parameters. The running average ``ax`` (and its weight ``mu``) never feeds
        back into the parameters, so it is left out.
        """

        def step(params: Any, grads: Any, i: int) -> Any:
            # eta as torch sets it after step i (eta = lr before the first step).
            eta = learning_rate / ((1 + lambd * learning_rate * i) ** alpha)

            def one(p: Any, g: Any) -> Any:
                p = np.asarray(p)
                wide = np.complex128 if np.iscomplexobj(p) else np.float64
                x, grad = p.astype(wide), np.asarray(g).astype(wide)
                if weight_decay != 0:
                    grad = grad + weight_decay * x
                x = x * (1 - lambd * eta) - eta * grad  # decay term, then the gradient step
                return jax.numpy.asarray(x.astype(p.dtype))

            return jax.tree.map(one, params, grads)

        return step

    def optimistic_adam_v1(learning_rate: Any, optimism: Any, nesterov: bool = True) -> Any:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return optax.optimistic_adam(learning_rate, optimism, nesterov=nesterov)

    return {
        "ASGD": Entry(
            # lambd and t0 small enough that the step size decays and the average
            # starts within the 50 steps of a comparison.
            make=lambda: O.ASGD(1e-3, lambd=1.0, t0=5.0),
            example="ASGD()",
            reference=lambda: torch_asgd_reference(1e-3, lambd=1.0, t0=5.0),
            complex=lambda: torch_asgd_reference(1e-3, lambd=1.0, t0=5.0),
            variants={
                "weight_decay": variant(
                    lambda: O.ASGD(1e-3, lambd=1.0, t0=5.0, weight_decay=0.1),
                    lambda: torch_asgd_reference(1e-3, lambd=1.0, t0=5.0, weight_decay=0.1),
                ),
            },
        ),
        "COCOB": Entry(
            make=lambda: O.COCOB(),
            example="COCOB()",
            reference=lambda: f32(optax.contrib.cocob),
            complex=UNSUPPORTED,  # the bets compare and clip real numbers
            variants={
                "weight_decay": variant(
                    lambda: O.COCOB(0.5, alpha=10.0, weight_decay=1e-2),
                    lambda: f32(optax.contrib.cocob, 0.5, alpha=10.0, weight_decay=1e-2),
                ),
            },
        ),
        "DAdaptAdamW": Entry(
            make=lambda: O.DAdaptAdamW(),
            example="DAdaptAdamW()",
            reference=lambda: f32(optax.contrib.dadapt_adamw),
            complex=UNSUPPORTED,  # its distance estimate is a real inner product
            variants={
                "weight_decay": variant(
                    lambda: O.DAdaptAdamW(0.5, weight_decay=1e-2),
                    lambda: f32(optax.contrib.dadapt_adamw, 0.5, weight_decay=1e-2),
                ),
            },
        ),
        "DoG": Entry(
            make=lambda: O.DoG(),
            example="DoG()",
            reference=lambda: f32(optax.contrib.dog),
            complex=lambda: optax.contrib.dog(),
            variants={
                "learning_rate_init_and_weight_decay": variant(
                    lambda: O.DoG(init_step=("learning_rate", 1e-3), weight_decay=1e-2),
                    lambda: f32(
                        optax.contrib.dog, init_step=("learning_rate", 1e-3), weight_decay=1e-2
                    ),
                ),
                "distance_init": variant(
                    lambda: O.DoG(0.5, init_step=("distance", 1e-2)),
                    lambda: f32(optax.contrib.dog, 0.5, init_step=("distance", 1e-2)),
                ),
            },
        ),
        "DoWG": Entry(
            make=lambda: O.DoWG(),
            example="DoWG()",
            reference=lambda: f32(optax.contrib.dowg),
            complex=lambda: optax.contrib.dowg(),
            variants={
                "init_and_weight_decay": variant(
                    lambda: O.DoWG(init_estim_sq_dist=1e-3, weight_decay=1e-2),
                    lambda: f32(optax.contrib.dowg, init_estim_sq_dist=1e-3, weight_decay=1e-2),
                ),
            },
        ),
        "ACProp": Entry(
            make=lambda: O.ACProp(2e-4),
            example="ACProp(1e-3)",
            reference=lambda: f32(optax.contrib.acprop, 2e-4),
            complex=lambda: optax.contrib.acprop(2e-4),
            variants={
                "weight_decay": variant(
                    lambda: O.ACProp(2e-4, weight_decay=1e-2),
                    lambda: f32(optax.contrib.acprop, 2e-4, weight_decay=1e-2),
                ),
            },
        ),
        "OptimisticAdam": Entry(
            make=lambda: O.OptimisticAdam(0.01),
            example="OptimisticAdam(1e-3)",
            reference=lambda: f32(optax.optimistic_adam_v2, 0.01),
            complex=lambda: optax.optimistic_adam_v2(0.01),
            variants={
                # optax.optimistic_adam (deprecated): beta = optimism / learning_rate.
                # rtol 1e-4: optax's own optimistic_adam and optimistic_adam_v2 with
                # these arguments differ by 3.1e-6 (2.4e-5 relative) after 50 steps ((lr + o) u
                # against lr (1 + o / lr) u rounds differently); ours matches v2 at 1e-5.
                "optimistic_adam": Variant(
                    lambda: (
                        lambda: O.OptimisticAdam(0.01, beta=0.5, nesterov=False),
                        f32(optimistic_adam_v1, 0.01, 0.005, nesterov=False),
                    ),
                    models=("nested",),
                    rtol=1e-4,
                    atol=1e-5,
                ),
            },
        ),
        "ScheduleFreeSGD": Entry(
            make=lambda: O.ScheduleFreeSGD(1e-3),
            example="ScheduleFreeSGD()",
            reference=lambda: f32(optax.contrib.schedule_free_sgd, 1e-3),
            complex=lambda: optax.contrib.schedule_free_sgd(1e-3),
        ),
        "SimplifiedAdEMAMix": Entry(
            make=lambda: O.SimplifiedAdEMAMix(1e-3),
            example="SimplifiedAdEMAMix(1e-4)",
            reference=lambda: f32(optax.contrib.simplified_ademamix, 1e-3),
            complex=lambda: simplified_ademamix_reference(1e-3),
            variants={
                "alpha_schedule_and_weight_decay": variant(
                    lambda: O.SimplifiedAdEMAMix(1e-3, alpha=ALPHA, weight_decay=1e-2),
                    lambda: f32(
                        optax.contrib.simplified_ademamix, 1e-3, alpha=ALPHA, weight_decay=1e-2
                    ),
                ),
            },
            complex_note="optax squares without conjugating",
        ),
    }
