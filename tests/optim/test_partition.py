import jax
import numpy as np
import optax
import pytest
from helpers import check_parity, f32, models, quadratic_grads

from flarejax.optim import SGD, Adam, AdamW, Chain, ClipByGlobalNorm, Freeze, Partition


def _labels(params):
    def label(path, _):
        if path[0].key == "enc" and path[-1].name == "kernel":
            return "kernels"
        return "rest" if path[0].key == "enc" else "other"

    return jax.tree_util.tree_map_with_path(label, params)


def test_partition_matches_optax_multi_transform():
    check_parity(
        lambda: Partition(
            {
                "enc.*.kernel": Chain(ClipByGlobalNorm(0.5), Adam(0.02)),
                "enc.*": SGD(0.05, momentum=0.9),  # biases: kernels matched first
            },
            default=AdamW(0.01, weight_decay=0.1),
        ),
        optax.multi_transform(
            {
                "kernels": optax.chain(optax.clip_by_global_norm(0.5), f32(optax.adam, 0.02)),
                "rest": optax.sgd(0.05, 0.9),
                "other": f32(optax.adamw, 0.01, weight_decay=0.1),
            },
            _labels,
        ),
        model_names=("nested",),
    )


def test_first_matching_pattern_wins():
    params = models()["flat"]
    opt = Partition({"w": SGD(1.0), ("*", "b"): SGD(0.0)})
    assert [opt.group_of(k) for k in ("w", "b")] == [0, 1]
    g = quadratic_grads(params, 0)
    out = opt(params, g)
    np.testing.assert_allclose(out["w"], params["w"] - g["w"], rtol=1e-6)
    np.testing.assert_array_equal(out["b"], params["b"])


def test_unmatched_parameter_without_default_names_the_key():
    params = models()["nested"]
    opt = Partition({"enc.*": Adam(0.1)})
    with pytest.raises(ValueError, match=r"parameter 'scale' matches no pattern"):
        opt(params, quadratic_grads(params, 0))
    with pytest.raises(ValueError, match=r"parameter 'scale' matches no pattern"):
        jax.jit(lambda o, p: o(p, p))(opt, params)
    assert opt.opts[0].m == {}  # the failed step left no state behind


def test_groups_are_optimizers_with_their_own_state():
    params = models()["nested"]
    opt = Partition({"enc.0.*": Freeze("*"), lambda k: k == "scale": SGD(0.1)}, default=Adam(0.1))
    opt.init(params)
    assert set(opt.default.m) == {"enc.1.kernel", "enc.1.bias"}
    out = opt(params, quadratic_grads(params, 0))
    np.testing.assert_array_equal(out["enc"][0].kernel, params["enc"][0].kernel)
    hp = opt.hyperparameters()
    assert float(hp["1.learning_rate"]) == pytest.approx(0.1)
    assert "default.b1" in hp


def test_invalid_groups():
    with pytest.raises(ValueError, match=r"groups\['a'\] must be an Optimizer, got float"):
        Partition({"a": 0.1})
    with pytest.raises(ValueError, match="groups must be a dict"):
        Partition([("a", SGD(0.1))])
    with pytest.raises(ValueError, match=r"invalid regular expression in pattern 're:\*'"):
        Partition({"re:*": SGD(0.1)})
    with pytest.raises(ValueError, match="default must be an Optimizer or None"):
        Partition({"a": SGD(0.1)}, default="sgd")
