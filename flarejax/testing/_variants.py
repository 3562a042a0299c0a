"""Hyperparameter variants of the built-ins against their optax references.

Each function returns ``(make, reference)``: a factory of the optimizer and
the optax transformation it must agree with. :func:`variants` lists them per
class of ``flarejax.optim``; the registry (``_registry.py``) attaches them to
its entries and ``tests/testing/test_check_optimizer.py`` runs each through
``check_optimizer(reference=...)`` eagerly, under ``jax.jit`` and after ``init``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

import flarejax as flr
from flarejax.optim import (
    SGD,
    Adam,
    AdaptiveGradClip,
    AddDecayedWeights,
    AddNoise,
    Centralize,
    Chain,
    Clip,
    ClipByBlockRMS,
    ClipByGlobalNorm,
    Freeze,
    KeepParamsNonnegative,
    Masked,
    MultiSteps,
    Scale,
    ScaleByLearningRate,
    from_optax,
)

from ._registry import Variant


def f32(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """``factory(...)`` with its float hyperparameters held as float32 arrays, as flarejax."""
    return optax.inject_hyperparams(factory)(*args, **kwargs)


_REF = optax.inject_hyperparams(
    optax.contrib.adopt, static_args=("clip_value_fn", "nesterov", "use_clipping")
)


def _enc_mask(params):
    return jax.tree_util.tree_map_with_path(lambda path, _: path[0].key == "enc", params)


_LR = optax.linear_schedule(0.02, 0.001, 30)


_WD = optax.linear_schedule(0.0, 0.1, 30)


def _by_ndim(params):
    return jax.tree.map(lambda x: "matrix" if x.ndim >= 2 else "other", params)


def f32_betas(b1, b2):
    return (jnp.asarray(b1, jnp.float32), jnp.asarray(b2, jnp.float32))


SF = optax.contrib.schedule_free_adamw


def _kernel_mask(params):
    return jax.tree_util.tree_map_with_path(
        lambda path, _: getattr(path[-1], "name", None) == "kernel", params
    )


def _adabelief_matches_optax() -> Any:
    return (lambda: flr.optim.AdaBelief(0.01)), f32(optax.adabelief, 0.01)


def _adabelief_nesterov_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 1e-08, "eps_root": 1e-06}
    ref = optax.inject_hyperparams(optax.adabelief, static_args=("nesterov",))
    return (lambda: flr.optim.AdaBelief(sched, **kwargs, nesterov=True)), ref(
        sched, **kwargs, nesterov=True
    )


def _adadelta_matches_optax() -> Any:
    return (lambda: flr.optim.Adadelta(1.0)), f32(optax.adadelta, 1.0)


def _adadelta_options_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(2.0, 0.5, 30)
    wd = optax.linear_schedule(0.0, 0.1, 20)
    kwargs: dict[str, Any] = {"rho": 0.8, "eps": 0.0001}
    return (lambda: flr.optim.Adadelta(sched, weight_decay=wd, **kwargs)), f32(
        optax.adadelta, sched, weight_decay=wd, **kwargs
    )


def _adafactor_matches_optax() -> Any:
    return (lambda: flr.optim.Adafactor(0.01, min_dim_size_to_factor=2)), optax.adafactor(
        0.01, min_dim_size_to_factor=2
    )


def _adafactor_unfactored_without_learning_rate_matches_optax() -> Any:
    kwargs: dict[str, Any] = {
        "factored": False,
        "clipping_threshold": 0.5,
        "multiply_by_parameter_scale": False,
    }
    return (lambda: flr.optim.Adafactor(**kwargs)), optax.adafactor(**kwargs)


def _adagrad_matches_optax() -> Any:
    return (lambda: flr.optim.Adagrad(0.1)), optax.adagrad(0.1)


def _adagrad_options_and_schedule_match_optax() -> Any:
    sched = optax.exponential_decay(0.2, 10, 0.5)
    kwargs: dict[str, Any] = {"initial_accumulator_value": 0.0, "eps": 0.0001}
    return (lambda: flr.optim.Adagrad(sched, **kwargs)), optax.adagrad(sched, **kwargs)


def _adam_matches_optax_0() -> Any:
    kwargs: dict[str, Any] = {}
    return (lambda: flr.optim.Adam(0.01, **kwargs)), f32(optax.adam, 0.01, **kwargs)


def _adam_matches_optax_1() -> Any:
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 1e-06}
    return (lambda: flr.optim.Adam(0.01, **kwargs)), f32(optax.adam, 0.01, **kwargs)


def _adam_matches_optax_2() -> Any:
    kwargs: dict[str, Any] = {"eps_root": 1e-08}
    return (lambda: flr.optim.Adam(0.01, **kwargs)), f32(optax.adam, 0.01, **kwargs)


def _adam_schedule_matches_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    return (lambda: flr.optim.Adam(sched)), f32(optax.adam, sched)


def _adamax_matches_optax() -> Any:
    return (lambda: flr.optim.Adamax(0.01)), f32(optax.adamax, 0.01)


def _adamax_hyperparameters_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 0.001}
    return (lambda: flr.optim.Adamax(sched, **kwargs)), f32(optax.adamax, sched, **kwargs)


def _adamaxw_matches_optax() -> Any:
    return (lambda: flr.optim.AdamaxW(0.01, weight_decay=0.1)), f32(
        optax.adamaxw, 0.01, weight_decay=0.1
    )


def _adamaxw_mask_and_schedules_match_optax() -> Any:
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    ref = optax.inject_hyperparams(optax.adamaxw, static_args=("mask",))(
        lr, weight_decay=wd, mask=lambda params: jax.tree.map(lambda p: p.ndim < 2, params)
    )
    return (lambda: flr.optim.AdamaxW(lr, weight_decay=wd, mask=("*.bias", "scale"))), ref


def _adamw_mask_and_weight_decay_schedule_match_optax_0() -> Any:
    mask = "w"
    sched = optax.linear_schedule(0.2, 0.02, 20)
    return (lambda: flr.optim.AdamW(0.01, weight_decay=sched, mask=mask)), f32(
        optax.adamw, 0.01, weight_decay=sched, mask={"w": True, "b": False}
    )


def _adamw_mask_and_weight_decay_schedule_match_optax_1() -> Any:
    mask = lambda key: not key.endswith("b")  # noqa: E731
    sched = optax.linear_schedule(0.2, 0.02, 20)
    return (lambda: flr.optim.AdamW(0.01, weight_decay=sched, mask=mask)), f32(
        optax.adamw, 0.01, weight_decay=sched, mask={"w": True, "b": False}
    )


def _adan_matches_optax() -> Any:
    return (lambda: flr.optim.Adan(0.01, weight_decay=0.05)), f32(
        optax.adan, 0.01, weight_decay=0.05
    )


def _adan_mask_and_schedules_match_optax() -> Any:
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    kwargs: dict[str, Any] = {"b1": 0.9, "b2": 0.8, "b3": 0.95, "eps": 1e-06, "eps_root": 0.0}
    ref = optax.inject_hyperparams(optax.adan, static_args=("mask",))(
        lr,
        **kwargs,
        weight_decay=wd,
        mask=lambda params: jax.tree.map(lambda p: p.ndim == 2, params),
    )
    return (lambda: flr.optim.Adan(lr, **kwargs, weight_decay=wd, mask=lambda key: key == "w")), ref


def _ademamix_matches_optax() -> Any:
    return (lambda: flr.optim.AdEMAMix(0.01, weight_decay=0.05)), f32(
        optax.contrib.ademamix, 0.01, weight_decay=0.05
    )


def _ademamix_warmup_schedules_and_mask_match_optax() -> Any:
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    alpha = optax.linear_schedule(0.0, 8.0, 40)
    b3 = optax.linear_schedule(0.9, 0.999, 40)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "b3": b3, "alpha": alpha, "eps_root": 1e-08}
    ref = optax.inject_hyperparams(optax.contrib.ademamix, static_args=("mask",))(
        lr, **kwargs, weight_decay=wd, mask={"w": False, "b": True}
    )
    return (lambda: flr.optim.AdEMAMix(lr, **kwargs, weight_decay=wd, mask="b")), ref


def _adopt_matches_optax() -> Any:
    return (lambda: flr.optim.ADOPT(0.01)), _REF(0.01)


def _adopt_options_and_schedule_match_optax_0() -> Any:
    options: dict[str, Any] = {"nesterov": True, "use_clipping": False}
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 0.0001}
    return (lambda: flr.optim.ADOPT(sched, **kwargs, **options)), _REF(sched, **kwargs, **options)


def _adopt_options_and_schedule_match_optax_1() -> Any:
    options: dict[str, Any] = {"clip_value_fn": lambda count: 1.0 + 0.5 * count}
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 0.0001}
    return (lambda: flr.optim.ADOPT(sched, **kwargs, **options)), _REF(sched, **kwargs, **options)


def _agc_adaptive_grad_clip_matches_optax() -> Any:
    return (lambda: Chain(AdaptiveGradClip(0.05), SGD(0.05))), optax.chain(
        optax.adaptive_grad_clip(0.05), optax.sgd(0.05)
    )


def _amsgrad_matches_optax() -> Any:
    return (lambda: flr.optim.AMSGrad(0.01)), f32(optax.amsgrad, 0.01)


def _centralize_matches_optax() -> Any:
    return (lambda: Chain(Centralize(), Adam(0.01))), optax.chain(
        optax.centralize(), f32(optax.adam, 0.01)
    )


def _chain_clip_then_adam_matches_optax() -> Any:
    return (lambda: Chain(ClipByGlobalNorm(1.0), Adam(0.01))), optax.chain(
        optax.clip_by_global_norm(1.0), f32(optax.adam, 0.01)
    )


def _chain_direction_then_scheduled_rate_matches_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    return (lambda: Chain(Adam(1.0), ScaleByLearningRate(sched))), optax.chain(
        f32(optax.scale_by_adam), optax.scale_by_learning_rate(sched)
    )


def _clip_by_global_norm_matches_optax_0() -> Any:
    max_norm = 0.5
    return (lambda: Chain(ClipByGlobalNorm(max_norm), SGD(0.05))), optax.chain(
        optax.clip_by_global_norm(max_norm), optax.sgd(0.05)
    )


def _clip_by_global_norm_matches_optax_1() -> Any:
    max_norm = 1000.0
    return (lambda: Chain(ClipByGlobalNorm(max_norm), SGD(0.05))), optax.chain(
        optax.clip_by_global_norm(max_norm), optax.sgd(0.05)
    )


def _clip_matches_optax() -> Any:
    return (lambda: Chain(Clip(0.3), Adam(0.01))), optax.chain(
        optax.clip(0.3), f32(optax.adam, 0.01)
    )


def _clip_by_block_rms_matches_optax() -> Any:
    return (lambda: Chain(ClipByBlockRMS(0.8), SGD(0.05))), optax.chain(
        optax.clip_by_block_rms(0.8), optax.sgd(0.05)
    )


def _constrain_keep_params_nonnegative_matches_optax() -> Any:
    return (lambda: Chain(SGD(0.2), KeepParamsNonnegative())), optax.chain(
        optax.sgd(0.2), optax.keep_params_nonnegative()
    )


def _lamb_matches_optax() -> Any:
    return (lambda: flr.optim.LAMB(0.01, weight_decay=0.05)), f32(
        optax.lamb, 0.01, weight_decay=0.05
    )


def _lars_matches_optax() -> Any:
    return (lambda: flr.optim.LARS(0.5)), f32(optax.lars, 0.5)


def _lars_options_and_schedules_match_optax() -> Any:
    sched = optax.linear_schedule(1.0, 0.1, 40)
    kwargs: dict[str, Any] = {
        "weight_decay": optax.linear_schedule(0.0, 0.1, 20),
        "trust_coefficient": 0.02,
        "eps": 0.001,
        "momentum": 0.5,
        "nesterov": True,
    }
    return (lambda: flr.optim.LARS(sched, **kwargs)), f32(optax.lars, sched, **kwargs)


def _lion_matches_optax() -> Any:
    return (lambda: flr.optim.Lion(0.001)), f32(optax.lion, 0.001)


def _madgrad_matches_optax() -> Any:
    return (lambda: flr.optim.MADGRAD(0.01)), f32(optax.contrib.madgrad, 0.01)


def _madgrad_options_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.02, 0.005, 30)
    kwargs: dict[str, Any] = {
        "momentum": 0.5,
        "weight_decay": optax.linear_schedule(0.02, 0.005, 20),
        "eps": 0.0001,
    }
    return (lambda: flr.optim.MADGRAD(sched, **kwargs)), f32(optax.contrib.madgrad, sched, **kwargs)


def _mask_masked_matches_optax() -> Any:
    return (lambda: Chain(Masked(Adam(1.0), "enc.*"), Scale(0.01))), optax.chain(
        optax.masked(f32(optax.scale_by_adam), _enc_mask), optax.scale(-0.01)
    )


def _mask_freeze_matches_optax() -> Any:
    frozen = lambda p: jax.tree.map(lambda _: False, p) | {"b": True}  # noqa: E731
    return (lambda: Chain(Freeze("b"), Adam(0.01))), optax.chain(
        optax.freeze(frozen), f32(optax.adam, 0.01)
    )


def _multi_steps_mean_accumulation_matches_optax() -> Any:
    return (lambda: MultiSteps(Chain(ClipByGlobalNorm(1.0), Adam(0.02)), 3)), optax.MultiSteps(
        optax.chain(optax.clip_by_global_norm(1.0), f32(optax.adam, 0.02)), 3
    ).gradient_transformation()


def _multi_steps_sum_accumulation_and_schedule_match_optax() -> Any:
    k = lambda step: jnp.where(step < 4, 2, 5)  # noqa: E731
    return (lambda: MultiSteps(SGD(0.01, momentum=0.9), k, use_grad_mean=False)), optax.MultiSteps(
        optax.sgd(0.01, 0.9), k, use_grad_mean=False
    ).gradient_transformation()


def _muon_matches_optax() -> Any:
    return (lambda: flr.optim.Muon(0.01)), f32(optax.contrib.muon, 0.01)


def _muon_options_match_optax_0() -> Any:
    lr = _LR
    kwargs: dict[str, Any] = {
        "nesterov": False,
        "preconditioning": "aol",
        "ns_coeffs": "dion",
        "weight_decay": _WD,
    }
    return (lambda: flr.optim.Muon(lr, **kwargs)), f32(optax.contrib.muon, lr, **kwargs)


def _muon_options_match_optax_1() -> Any:
    lr = 0.01
    kwargs: dict[str, Any] = {
        "preconditioning": "schatten",
        "consistent_rms": 0.2,
        "weight_decay": 0.1,
        "adam_weight_decay": 0.05,
        "adam_learning_rate": 0.003,
        "beta": 0.9,
        "adam_b1": 0.8,
        "adam_b2": 0.99,
        "adam_eps_root": 1e-08,
    }
    return (lambda: flr.optim.Muon(lr, **kwargs)), f32(optax.contrib.muon, lr, **kwargs)


def _nadam_matches_optax() -> Any:
    return (lambda: flr.optim.NAdam(0.01)), f32(optax.nadam, 0.01)


def _nadamw_matches_optax() -> Any:
    return (lambda: flr.optim.NAdamW(0.01, weight_decay=0.1)), f32(
        optax.nadamw, 0.01, weight_decay=0.1
    )


def _nadamw_mask_and_schedules_match_optax() -> Any:
    lr = optax.linear_schedule(0.05, 0.001, 30)
    wd = optax.linear_schedule(0.0, 0.2, 20)
    ref = optax.inject_hyperparams(optax.nadamw, static_args=("mask",))(
        lr, weight_decay=wd, mask=lambda params: jax.tree.map(lambda p: p.ndim == 2, params)
    )
    return (lambda: flr.optim.NAdamW(lr, weight_decay=wd, mask="*.kernel")), ref


def _noise_add_noise_matches_optax() -> Any:
    return (lambda: Chain(AddNoise(0.01, 0.55, 3), SGD(0.05))), optax.chain(
        optax.add_noise(0.01, 0.55, key=3), optax.sgd(0.05)
    )


def _noise_key_argument_matches_optax() -> Any:
    key = jax.random.key(7)
    return (lambda: Chain(AddNoise(0.1, 0.3, key), SGD(0.05))), optax.chain(
        optax.add_noise(0.1, 0.3, key=key), optax.sgd(0.05)
    )


def _noisy_sgd_matches_optax() -> Any:
    return (lambda: flr.optim.NoisySGD(0.05, key=3)), optax.noisy_sgd(0.05, key=3)


def _noisy_sgd_options_and_keys_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.01, 30)
    return (
        lambda: flr.optim.NoisySGD(sched, eta=0.5, gamma=0.3, key=jax.random.key(7))
    ), optax.noisy_sgd(sched, eta=0.5, gamma=0.3, key=jax.random.key(7))


def _novograd_matches_optax() -> Any:
    return (lambda: flr.optim.NovoGrad(0.01, weight_decay=0.05)), f32(
        optax.novograd, 0.01, weight_decay=0.05
    )


def _novograd_hyperparameters_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.5, "eps": 1e-08, "eps_root": 1e-08}
    return (lambda: flr.optim.NovoGrad(sched, **kwargs)), f32(optax.novograd, sched, **kwargs)


def _optax_interop_from_optax_equals_optax_by_hand_0() -> Any:
    tx = optax.adam(0.01)
    return (lambda: from_optax(tx)), tx


def _optax_interop_from_optax_equals_optax_by_hand_1() -> Any:
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(0.01, weight_decay=0.1))
    return (lambda: from_optax(tx)), tx


def _optax_interop_from_optax_equals_optax_by_hand_2() -> Any:
    tx = optax.inject_hyperparams(optax.sgd)(0.05, momentum=0.9, nesterov=True)
    return (lambda: from_optax(tx)), tx


def _optax_interop_from_optax_equals_optax_by_hand_3() -> Any:
    tx = optax.multi_transform({"matrix": optax.adam(0.01), "other": optax.sgd(0.05)}, _by_ndim)
    return (lambda: from_optax(tx)), tx


def _optax_interop_from_optax_equals_optax_by_hand_4() -> Any:
    tx = optax.masked(optax.adam(0.01), lambda p: jax.tree.map(lambda x: x.ndim > 0, p))
    return (lambda: from_optax(tx)), tx


def _optax_interop_from_optax_equals_optax_by_hand_5() -> Any:
    tx = optax.MultiSteps(optax.adam(0.01), every_k_schedule=3)
    return (lambda: from_optax(tx)), tx


def _optimistic_gd_matches_optax() -> Any:
    return (lambda: flr.optim.OptimisticGD(0.05)), f32(optax.optimistic_gradient_descent, 0.05)


def _optimistic_gd_options_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.1, 0.01, 30)
    return (lambda: flr.optim.OptimisticGD(sched, alpha=0.5, beta=2.0)), f32(
        optax.optimistic_gradient_descent, sched, alpha=0.5, beta=2.0
    )


def _prodigy_options_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.1, 1.0, 20)
    betas = (0.8, 0.99)
    kwargs: dict[str, Any] = {
        "beta3": 0.9,
        "weight_decay": optax.linear_schedule(0.02, 0.005, 20),
        "eps": 1e-06,
        "safeguard_warmup": True,
        "estim_lr0": 0.0001,
        "estim_lr_coef": 2.0,
    }
    return (lambda: flr.optim.Prodigy(sched, betas=betas, **kwargs)), f32(
        optax.contrib.prodigy, sched, betas=f32_betas(*betas), **kwargs
    )


def _radam_nesterov_threshold_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {
        "b1": 0.8,
        "b2": 0.99,
        "eps": 1e-06,
        "eps_root": 1e-08,
        "threshold": 20.0,
    }
    ref = optax.inject_hyperparams(optax.radam, static_args=("nesterov",))
    return (lambda: flr.optim.RAdam(sched, **kwargs, nesterov=True)), ref(
        sched, **kwargs, nesterov=True
    )


def _rmsprop_matches_optax() -> Any:
    return (lambda: flr.optim.RMSProp(0.01)), f32(optax.rmsprop, 0.01)


def _scale_matches_optax_with_the_sign_flipped_at_the_end() -> Any:
    return (lambda: Chain(Clip(1.0), Scale(0.5), Scale(0.1))), optax.chain(
        optax.clip(1.0), optax.scale(0.5), optax.scale(-0.1)
    )


def _scale_scheduled_learning_rate_matches_optax() -> Any:
    sched = optax.exponential_decay(0.1, 10, 0.5)
    return (lambda: ScaleByLearningRate(sched)), optax.scale_by_learning_rate(sched)


def _schedule_free_adamw_matches_optax() -> Any:
    return (lambda: flr.optim.ScheduleFreeAdamW(0.01)), f32(SF, 0.01)


def _schedule_free_adamw_options_match_optax() -> Any:
    kw: dict[str, Any] = {
        "warmup_steps": 10,
        "b1": 0.95,
        "b2": 0.99,
        "weight_decay": 0.01,
        "eps": 1e-06,
    }
    tx = optax.inject_hyperparams(SF, static_args=("warmup_steps",))(0.01, **kw)
    return (lambda: flr.optim.ScheduleFreeAdamW(0.01, **kw)), tx


def _schedule_free_adamw_schedule_matches_optax() -> Any:
    sched = optax.linear_schedule(0.001, 0.02, 20)
    return (lambda: flr.optim.ScheduleFreeAdamW(sched)), optax.inject_hyperparams(
        SF, static_args=("learning_rate",)
    )(sched)


def _sign_sgd_matches_optax() -> Any:
    return (lambda: flr.optim.SignSGD(0.01)), optax.sign_sgd(0.01)


def _sign_sgd_schedule_matches_optax() -> Any:
    sched = optax.exponential_decay(0.05, 10, 0.5)
    return (lambda: flr.optim.SignSGD(sched)), optax.sign_sgd(sched)


def _signum_matches_optax() -> Any:
    return (lambda: flr.optim.Signum(0.01)), f32(optax.signum, 0.01)


def _signum_options_and_schedule_match_optax() -> Any:
    sched = optax.exponential_decay(0.05, 10, 0.5)
    return (lambda: flr.optim.Signum(sched, beta=0.5)), f32(optax.signum, sched, beta=0.5)


def _sm3_matches_optax() -> Any:
    return (lambda: flr.optim.SM3(0.1)), f32(optax.sm3, 0.1)


def _weight_decay_masked_decay_matches_optax() -> Any:
    return (
        lambda: Chain(AddDecayedWeights(0.1, mask="*.kernel"), SGD(0.05, momentum=0.9))
    ), optax.chain(optax.add_decayed_weights(0.1, mask=_kernel_mask), optax.sgd(0.05, 0.9))


def _weight_decay_scheduled_decay_matches_optax() -> Any:
    sched = optax.linear_schedule(0.5, 0.0, 20)
    return (lambda: Chain(AddDecayedWeights(sched), SGD(0.05))), optax.chain(
        f32(optax.add_decayed_weights, sched), optax.sgd(0.05)
    )


def _yogi_matches_optax() -> Any:
    return (lambda: flr.optim.Yogi(0.01)), f32(optax.yogi, 0.01)


def _yogi_hyperparameters_and_schedule_match_optax() -> Any:
    sched = optax.linear_schedule(0.05, 0.001, 30)
    kwargs: dict[str, Any] = {"b1": 0.8, "b2": 0.99, "eps": 1e-06}
    return (lambda: flr.optim.Yogi(sched, **kwargs)), f32(optax.yogi, sched, **kwargs)


def variants() -> dict[str, dict[str, Variant]]:
    """class name -> variant name -> :class:`Variant` (moved from tests/optim/)."""
    return {
        "ADOPT": {
            "matches_optax": Variant(_adopt_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax-0": Variant(
                _adopt_options_and_schedule_match_optax_0, models=("matrix",)
            ),
            "options_and_schedule_match_optax-1": Variant(
                _adopt_options_and_schedule_match_optax_1, models=("matrix",)
            ),
        },
        "AMSGrad": {
            "matches_optax": Variant(_amsgrad_matches_optax, models=("nested",)),
        },
        "AdEMAMix": {
            "matches_optax": Variant(_ademamix_matches_optax, models=("nested",)),
            "warmup_schedules_and_mask_match_optax": Variant(
                _ademamix_warmup_schedules_and_mask_match_optax, models=("flat",)
            ),
        },
        "AdaBelief": {
            "matches_optax": Variant(_adabelief_matches_optax, models=("nested",)),
            "nesterov_and_schedule_match_optax": Variant(
                _adabelief_nesterov_and_schedule_match_optax, models=("matrix",)
            ),
        },
        "Adadelta": {
            "matches_optax": Variant(_adadelta_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax": Variant(
                _adadelta_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Adafactor": {
            "matches_optax": Variant(_adafactor_matches_optax, models=("nested",)),
            "unfactored_without_learning_rate_matches_optax": Variant(
                _adafactor_unfactored_without_learning_rate_matches_optax, models=("flat",)
            ),
        },
        "Adagrad": {
            "matches_optax": Variant(_adagrad_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax": Variant(
                _adagrad_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Adam": {
            "matches_optax-0": Variant(_adam_matches_optax_0, steps=100),
            "matches_optax-1": Variant(_adam_matches_optax_1, steps=100),
            "matches_optax-2": Variant(_adam_matches_optax_2, steps=100),
            "schedule_matches_optax": Variant(_adam_schedule_matches_optax),
        },
        "AdamW": {
            "mask_and_weight_decay_schedule_match_optax-0": Variant(
                _adamw_mask_and_weight_decay_schedule_match_optax_0, steps=30, models=("flat",)
            ),
            "mask_and_weight_decay_schedule_match_optax-1": Variant(
                _adamw_mask_and_weight_decay_schedule_match_optax_1, steps=30, models=("flat",)
            ),
        },
        "Adamax": {
            "matches_optax": Variant(_adamax_matches_optax, models=("nested",)),
            "hyperparameters_and_schedule_match_optax": Variant(
                _adamax_hyperparameters_and_schedule_match_optax, models=("matrix",)
            ),
        },
        "AdamaxW": {
            "matches_optax": Variant(_adamaxw_matches_optax, models=("nested",)),
            "mask_and_schedules_match_optax": Variant(
                _adamaxw_mask_and_schedules_match_optax, models=("nested",)
            ),
        },
        "Adan": {
            "matches_optax": Variant(_adan_matches_optax, models=("nested",)),
            "mask_and_schedules_match_optax": Variant(
                _adan_mask_and_schedules_match_optax, models=("flat",)
            ),
        },
        "AdaptiveGradClip": {
            "adaptive_grad_clip_matches_optax": Variant(
                _agc_adaptive_grad_clip_matches_optax, models=("nested",)
            ),
        },
        "AddDecayedWeights": {
            "masked_decay_matches_optax": Variant(
                _weight_decay_masked_decay_matches_optax, models=("nested",)
            ),
            "scheduled_decay_matches_optax": Variant(
                _weight_decay_scheduled_decay_matches_optax, models=("matrix",)
            ),
        },
        "AddNoise": {
            "add_noise_matches_optax": Variant(_noise_add_noise_matches_optax, models=("flat",)),
            "key_argument_matches_optax": Variant(
                _noise_key_argument_matches_optax, models=("flat",)
            ),
        },
        "Centralize": {
            "matches_optax": Variant(_centralize_matches_optax, models=("nested", "matrix")),
        },
        "Chain": {
            "clip_then_adam_matches_optax": Variant(
                _chain_clip_then_adam_matches_optax, models=("nested",)
            ),
            "direction_then_scheduled_rate_matches_optax": Variant(
                _chain_direction_then_scheduled_rate_matches_optax, models=("matrix",)
            ),
        },
        "Clip": {
            "matches_optax": Variant(_clip_matches_optax, models=("nested",)),
        },
        "ClipByBlockRMS": {
            "by_block_rms_matches_optax": Variant(
                _clip_by_block_rms_matches_optax, models=("nested",)
            ),
        },
        "ClipByGlobalNorm": {
            "by_global_norm_matches_optax-0": Variant(
                _clip_by_global_norm_matches_optax_0, models=("nested",)
            ),
            "by_global_norm_matches_optax-1": Variant(
                _clip_by_global_norm_matches_optax_1, models=("nested",)
            ),
        },
        "Freeze": {
            "freeze_matches_optax": Variant(_mask_freeze_matches_optax, models=("flat",)),
        },
        "KeepParamsNonnegative": {
            "keep_params_nonnegative_matches_optax": Variant(
                _constrain_keep_params_nonnegative_matches_optax, models=("nested",)
            ),
        },
        "LAMB": {
            "matches_optax": Variant(_lamb_matches_optax, models=("nested",)),
        },
        "LARS": {
            "matches_optax": Variant(_lars_matches_optax, models=("nested",)),
            "options_and_schedules_match_optax": Variant(
                _lars_options_and_schedules_match_optax, models=("flat",)
            ),
        },
        "Lion": {
            "matches_optax": Variant(_lion_matches_optax, models=("nested",)),
        },
        "MADGRAD": {
            "matches_optax": Variant(_madgrad_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax": Variant(
                _madgrad_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Masked": {
            "masked_matches_optax": Variant(_mask_masked_matches_optax, models=("nested",)),
        },
        "MultiSteps": {
            "mean_accumulation_matches_optax": Variant(
                _multi_steps_mean_accumulation_matches_optax, models=("flat",)
            ),
            "sum_accumulation_and_schedule_match_optax": Variant(
                _multi_steps_sum_accumulation_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Muon": {
            "matches_optax": Variant(_muon_matches_optax, models=("flat",)),
            "options_match_optax-0": Variant(_muon_options_match_optax_0, models=("flat",)),
            "options_match_optax-1": Variant(_muon_options_match_optax_1, models=("flat",)),
        },
        "NAdam": {
            "matches_optax": Variant(_nadam_matches_optax, models=("nested",)),
        },
        "NAdamW": {
            "matches_optax": Variant(_nadamw_matches_optax, models=("nested",)),
            "mask_and_schedules_match_optax": Variant(
                _nadamw_mask_and_schedules_match_optax, models=("nested",)
            ),
        },
        "NoisySGD": {
            "matches_optax": Variant(_noisy_sgd_matches_optax, models=("flat",)),
            "options_and_keys_match_optax": Variant(
                _noisy_sgd_options_and_keys_match_optax, models=("flat",)
            ),
        },
        "NovoGrad": {
            "matches_optax": Variant(_novograd_matches_optax, models=("nested",)),
            "hyperparameters_and_schedule_match_optax": Variant(
                _novograd_hyperparameters_and_schedule_match_optax, models=("matrix",)
            ),
        },
        "OptaxOptimizer": {
            "from_optax_equals_optax_by_hand-0": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_0,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
            "from_optax_equals_optax_by_hand-1": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_1,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
            "from_optax_equals_optax_by_hand-2": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_2,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
            "from_optax_equals_optax_by_hand-3": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_3,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
            "from_optax_equals_optax_by_hand-4": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_4,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
            "from_optax_equals_optax_by_hand-5": Variant(
                _optax_interop_from_optax_equals_optax_by_hand_5,
                steps=20,
                rtol=1e-6,
                atol=1e-7,
                models=("nested",),
            ),
        },
        "OptimisticGD": {
            "matches_optax": Variant(_optimistic_gd_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax": Variant(
                _optimistic_gd_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Prodigy": {
            "options_and_schedule_match_optax": Variant(
                _prodigy_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "RAdam": {
            "nesterov_threshold_and_schedule_match_optax": Variant(
                _radam_nesterov_threshold_and_schedule_match_optax, models=("matrix",)
            ),
        },
        "RMSProp": {
            "matches_optax": Variant(_rmsprop_matches_optax, models=("nested",)),
        },
        "SM3": {
            "matches_optax": Variant(_sm3_matches_optax, models=("flat",)),
        },
        "Scale": {
            "matches_optax_with_the_sign_flipped_at_the_end": Variant(
                _scale_matches_optax_with_the_sign_flipped_at_the_end, models=("flat",)
            ),
        },
        "ScaleByLearningRate": {
            "scheduled_learning_rate_matches_optax": Variant(
                _scale_scheduled_learning_rate_matches_optax, models=("flat",)
            ),
        },
        "ScheduleFreeAdamW": {
            "adamw_matches_optax": Variant(_schedule_free_adamw_matches_optax, models=("flat",)),
            "adamw_options_match_optax": Variant(
                _schedule_free_adamw_options_match_optax, models=("nested",)
            ),
            "adamw_schedule_matches_optax": Variant(
                _schedule_free_adamw_schedule_matches_optax, steps=40, models=("flat",)
            ),
        },
        "SignSGD": {
            "matches_optax": Variant(_sign_sgd_matches_optax, models=("nested",)),
            "schedule_matches_optax": Variant(_sign_sgd_schedule_matches_optax, models=("flat",)),
        },
        "Signum": {
            "matches_optax": Variant(_signum_matches_optax, models=("nested",)),
            "options_and_schedule_match_optax": Variant(
                _signum_options_and_schedule_match_optax, models=("flat",)
            ),
        },
        "Yogi": {
            "matches_optax": Variant(_yogi_matches_optax, models=("nested",)),
            "hyperparameters_and_schedule_match_optax": Variant(
                _yogi_hyperparameters_and_schedule_match_optax, models=("matrix",)
            ),
        },
    }
