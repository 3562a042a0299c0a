"""Registry rows: what uses the loss, a second gradient or per-example gradients."""

from __future__ import annotations

import functools
import warnings
from typing import Any

__all__ = ["entries"]

# Each step's gradient g becomes these per-example gradients (their mean is g), so
# that DPSGD, which takes per-example gradients, runs in the conformance kit.
_EXAMPLE_WEIGHTS = (1.5, 0.5)


def _per_example(grads: Any) -> Any:
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda g: jnp.stack([w * g for w in _EXAMPLE_WEIGHTS]), grads)


def _leaves_only(tx: Any) -> Any:
    """``tx`` as a ``(params, grads, step) -> params`` reference on the non-``None`` leaves.

    For optax transformations that fail on the ``None`` the kit puts at non-parameters.
    """
    import jax
    import optax

    state: list[Any] = []
    update = jax.jit(tx.update)

    def step(params: Any, grads: Any, i: int) -> Any:
        leaves, treedef = jax.tree_util.tree_flatten(params)
        g = jax.tree_util.tree_leaves(grads)
        if i == 0:  # a new run (the kit runs one reference on several models)
            state[:] = [tx.init(leaves)]
        updates, state[0] = update(g, state[0], leaves)
        return jax.tree_util.tree_unflatten(treedef, optax.apply_updates(leaves, updates))

    return step


def _extra_arg_reference(tx: Any, name: str) -> Any:
    """``(params, grads, step) -> params`` driving ``tx`` with the kit's objective as optax
    takes it: ``grad_fn=`` (its gradient, as the docs drive ``optax.contrib.sam`` in
    opaque mode) or ``obj_fn=`` (the function, as ``optax.contrib.sophia`` takes it).
    """
    import jax
    import optax

    from .._models import quadratic

    fn = jax.grad(lambda params, _: quadratic(params)) if name == "grad_fn" else quadratic
    update = jax.jit(lambda g, s, p: tx.update(g, s, p, **{name: fn}))
    state: list[Any] = []

    def step(params: Any, grads: Any, i: int) -> Any:
        if i == 0:  # a new run (the kit runs one reference on several models)
            state[:] = [tx.init(params)]
        updates, state[0] = update(grads, state[0], params)
        return optax.apply_updates(params, updates)

    return step


def _per_example_reference(tx: Any) -> Any:
    """optax twin of :class:`PerExample`: the same per-example gradients into ``tx``."""
    import optax

    return optax.chain(optax.stateless(lambda g, _: _per_example(g)), tx)


@functools.cache
def _per_example_class() -> type:
    from ... import optim as O

    class PerExample(O.Optimizer):
        """Steps ``opt`` (DPSGD) on per-example gradients made from each step's gradient.

        Only ``updates`` is its own: a step is the base ``__call__`` (which checks
        the gradients' shapes against the model's and records them) around it.
        """

        def __init__(self, opt: Any) -> None:
            self.opt = opt

        def updates(self, grads: Any, params: Any, extras: Any) -> Any:
            from ...optim._substep import substep

            return substep(self.opt, _per_example(grads), params, extras)

    return PerExample


def entries() -> dict[str, Any]:
    """name -> :class:`~flarejax.testing._registry.Entry`."""
    import optax

    from ... import optim as O
    from .._models import linesearch_extras, loss_extras
    from .._registry import UNSUPPORTED, Entry, Variant

    def f32(factory: Any, *args: Any, **kwargs: Any) -> Any:
        """``factory(...)`` with its float hyperparameters held as float32 arrays, as flarejax."""
        return optax.inject_hyperparams(factory)(*args, **kwargs)

    def f32_static(factory: Any, static: tuple[str, ...], *args: Any, **kwargs: Any) -> Any:
        return optax.inject_hyperparams(factory, static_args=static)(*args, **kwargs)

    import jax
    from optax.contrib._sophia import hutchinson_estimator_diag_hessian as hutchinson

    def paper_up() -> Any:
        """SAM's step up in the paper: normalized SGD."""
        return O.Chain(O.NormalizeByUpdateNorm(eps=0.0), O.SGD(0.05))

    def optax_up() -> Any:
        return optax.chain(optax.contrib.normalize(), optax.sgd(0.05))

    def V(build: Any, **kwargs: Any) -> Any:
        """A variant on the nested model only (matrices, vectors and a scalar): cheap."""
        return Variant(build, models=("nested",), **kwargs)

    lr_decay = optax.linear_schedule(1.0, 0.1, 30)
    # Sophia's clipped steps are sign-like: at 1.0 they bounce, and the last bits in
    # which two XLA programs' Hessian-vector products differ grow to 1e-4.
    lr_small = optax.linear_schedule(0.1, 0.01, 30)

    per_example = _per_example_class()

    def dpsgd(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            # optax 0.2.8's dpsgd passes its seed on under a deprecated name.
            warnings.simplefilter("ignore", DeprecationWarning)
            return optax.contrib.dpsgd(*args, **kwargs)

    return {
        "DPSGD": Entry(
            # Two per-example gradients per step (1.5 g and 0.5 g): l2_norm_clip=1
            # clips the first often, the second less often.
            make=lambda: per_example(O.DPSGD(0.01, 1.0, 0.1, seed=0, momentum=0.9)),
            example="DPSGD(1e-3, l2_norm_clip=1.0, noise_multiplier=1.1, seed=0)",
            reference=lambda: _per_example_reference(dpsgd(0.01, 1.0, 0.1, seed=0, momentum=0.9)),
            complex=lambda: _per_example_reference(dpsgd(0.01, 1.0, 0.1, seed=0, momentum=0.9)),
            # Nesterov's momentum: tests/optim/test_dpsgd.py (a variant here costs 9 s).
        ),
        "SAM": Entry(
            # Opaque mode: one call, both gradients (loss_fn= from the kit's extras),
            # with the paper's normalized step up.
            make=lambda: O.SAM(O.Adam(0.05), paper_up(), opaque_mode=True),
            example="SAM(SGD(1e-3), SGD(0.05))",
            reference=lambda: _extra_arg_reference(
                optax.contrib.sam(f32(optax.adam, 0.05), optax_up(), opaque_mode=True), "grad_fn"
            ),
            complex=lambda: _extra_arg_reference(
                optax.contrib.sam(optax.adam(0.05), optax_up(), opaque_mode=True), "grad_fn"
            ),
            options={"extras": linesearch_extras},
            variants={
                "transparent": V(
                    lambda: (
                        lambda: O.SAM(O.Adam(0.05), O.SGD(0.05)),
                        optax.contrib.sam(f32(optax.adam, 0.05), optax.sgd(0.05)),
                    ),
                    options={"extras": None},
                ),
                "sync_period_3_keep_state": V(
                    lambda: (
                        lambda: O.SAM(
                            O.Adam(0.05),
                            O.SGD(0.02, momentum=0.9),
                            sync_period=3,
                            reset_state=False,
                            opaque_mode=True,
                        ),
                        _extra_arg_reference(
                            optax.contrib.sam(
                                f32(optax.adam, 0.05),
                                optax.sgd(0.02, momentum=0.9),
                                sync_period=3,
                                reset_state=False,
                                opaque_mode=True,
                            ),
                            "grad_fn",
                        ),
                    ),
                ),
            },
        ),
        "Sophia": Entry(
            # A Hessian estimate every 4 steps: 13 in 50 steps, with optax's signs.
            make=lambda: O.Sophia(0.05, update_interval=4),
            example="Sophia(1e-3)",
            reference=lambda: _extra_arg_reference(
                f32_static(optax.contrib.sophia, ("update_interval",), 0.05, update_interval=4),
                "obj_fn",
            ),
            complex=UNSUPPORTED,  # clips element-wise
            options={"extras": linesearch_extras},
            variants={
                "key_and_options": V(
                    lambda: (
                        lambda: O.Sophia(
                            lr_small,
                            b1=0.9,
                            gamma=0.05,
                            weight_decay=0.1,
                            update_interval=2,
                            key=jax.random.PRNGKey(3),
                        ),
                        _extra_arg_reference(
                            f32_static(
                                optax.contrib.sophia,
                                ("update_interval", "hessian_diagonal_fn"),
                                lr_small,
                                b1=0.9,
                                gamma=0.05,
                                weight_decay=0.1,
                                update_interval=2,
                                hessian_diagonal_fn=hutchinson(jax.random.PRNGKey(3)),
                            ),
                            "obj_fn",
                        ),
                    ),
                    # Measured 2e-5: see lr_small.
                    rtol=1e-4,
                    atol=1e-5,
                ),
            },
        ),
        "GaLore": Entry(
            # Rank 1, a new projector every 5 steps: every matrix is projected and the
            # SVD runs 10 times in 50 steps. rtol 1e-4: jnp.linalg.svd's basis differs
            # in its last bits between two XLA programs (this step and the jitted
            # optax update), and the steps after amplify it (measured: 3e-5).
            make=lambda: O.GaLore(0.05, rank=1, update_proj_gap=5, scale=0.5, weight_decay=0.1),
            example="GaLore(1e-3)",
            # On the parameters only: optax.contrib.galore fails on None leaves.
            reference=lambda: _leaves_only(
                f32_static(
                    optax.contrib.galore,
                    ("rank", "update_proj_gap"),
                    0.05,
                    rank=1,
                    update_proj_gap=5,
                    scale=0.5,
                    weight_decay=0.1,
                )
            ),
            complex=UNSUPPORTED,  # projects with a real SVD basis (optax drops the conjugate)
            options={"rtol": 1e-4, "atol": 1e-5},
        ),
        "Mechanic": Entry(
            make=lambda: O.Mechanic(O.Adam(0.05)),
            example="Mechanic(SGD(1e-3))",
            # Plain optax.adam: under inject_hyperparams its bfloat16 state turns NaN.
            reference=lambda: optax.contrib.mechanize(optax.adam(0.05)),
            complex=UNSUPPORTED,  # learns its scale from real inner products
            variants={
                "options": V(
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
                "adaptive_bound_decay_schedule": V(
                    lambda: (
                        lambda: O.MoMo(
                            lr_decay,
                            beta=0.8,
                            lower_bound=-1.0,
                            weight_decay=0.1,
                            adapt_lower_bound=True,
                        ),
                        f32_static(
                            optax.contrib.momo,
                            ("adapt_lower_bound",),
                            lr_decay,
                            beta=0.8,
                            lower_bound=-1.0,
                            weight_decay=0.1,
                            adapt_lower_bound=True,
                        ),
                    ),
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
                "adaptive_bound_decay_schedule": V(
                    lambda: (
                        lambda: O.MoMoAdam(
                            lr_decay, lower_bound=-1.0, weight_decay=0.1, adapt_lower_bound=True
                        ),
                        f32_static(
                            optax.contrib.momo_adam,
                            ("adapt_lower_bound",),
                            lr_decay,
                            lower_bound=-1.0,
                            weight_decay=0.1,
                            adapt_lower_bound=True,
                        ),
                    ),
                ),
            },
        ),
    }
