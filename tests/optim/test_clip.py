from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import check_parity

from flarejax.optim import SGD, Chain, Clip, ClipByBlockRMS, ClipByGlobalNorm


def test_clipping_bfloat16_keeps_dtype():
    check_parity(
        lambda: Chain(ClipByGlobalNorm(1.0), Clip(0.2), ClipByBlockRMS(0.5), SGD(0.05)),
        optax.chain(
            optax.clip_by_global_norm(1.0),
            optax.clip(0.2),
            optax.clip_by_block_rms(0.5),
            optax.sgd(0.05),
        ),
        steps=20,
        rtol=2e-2,
        atol=2e-2,
        dtype=jnp.bfloat16,
        model_names=("flat",),
        modes=("jit",),
    )


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Clip(-1.0), r"max_delta must be >= 0, got -1\.0"),
        (lambda: ClipByGlobalNorm(0.0), r"max_norm must be > 0, got 0\.0"),
        (lambda: ClipByBlockRMS(-2.0), r"threshold must be > 0, got -2\.0"),
    ],
)
def test_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# -- the measured norms, readable after a step ------------------------------------


def _grads() -> dict[str, np.ndarray]:
    r = np.random.default_rng(4)
    return {"a": r.normal(size=(4, 3)) * 3, "b": r.normal(size=5), "c": np.array(0.5)}


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_global_norm_is_what_torch_clip_grad_norm_returns(jit: bool) -> None:
    grads = _grads()
    # A float64 port of torch/nn/utils/clip_grad.py ``_get_total_norm`` (what
    # ``clip_grad_norm_`` returns), on the float32 gradients: the 2-norm of the
    # stacked per-tensor 2-norms.
    per_tensor = [
        np.linalg.norm(v.astype(np.float32).astype(np.float64).ravel()) for v in grads.values()
    ]
    expected = float(np.linalg.norm(np.array(per_tensor)))

    opt = Chain(ClipByGlobalNorm(1.0), SGD(0.1))
    model = {k: jnp.zeros(v.shape) for k, v in grads.items()}
    g = {k: jnp.asarray(v, jnp.float32) for k, v in grads.items()}

    def step(o: Any, m: Any) -> tuple[Any, Any]:
        return o, o(m, g)

    opt, _ = (jax.jit(step) if jit else step)(opt, model)
    norm = opt.opts[0].norm
    assert norm.dtype == jnp.float32 and norm.shape == ()
    np.testing.assert_allclose(float(norm), expected, rtol=1e-6)
    f64 = np.sqrt(sum(np.sum(v**2) for v in grads.values()))
    np.testing.assert_allclose(float(norm), f64, rtol=1e-6)


def test_block_rms_is_measured_before_clipping() -> None:
    grads = _grads()
    clip = ClipByBlockRMS(0.5)
    opt = Chain(clip, SGD(0.1))
    opt({k: jnp.zeros(v.shape) for k, v in grads.items()}, grads)
    for k, v in grads.items():
        np.testing.assert_allclose(float(opt.opts[0].rms[k]), np.sqrt(np.mean(v**2)), 1e-6)
        assert opt.opts[0].rms[k].dtype == jnp.float32
