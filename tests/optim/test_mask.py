import jax
import numpy as np
import pytest
from helpers import models, quadratic_grads

from flarejax.optim import SGD, Adam, AddDecayedWeights, Chain, Freeze, Masked


def test_masked_keeps_state_for_matching_keys_only():
    params = models()["nested"]
    opt = Masked(Adam(0.1), lambda key: key.endswith("kernel"))
    out = opt(params, quadratic_grads(params, 0))
    assert set(opt.opt.m) == {"enc.0.kernel", "enc.1.kernel"}
    g = quadratic_grads(params, 0)
    np.testing.assert_allclose(out["scale"], params["scale"] - g["scale"], rtol=1e-6)


def test_freeze_leaves_params_untouched_and_builds_no_state():
    params = models()["nested"]
    opt = Chain(Freeze(["enc.0.*", "re:sc.le"]), AddDecayedWeights(0.1), SGD(0.1, momentum=0.9))
    opt.init(params)
    assert set(opt.opts[2].trace) == {"enc.1.kernel", "enc.1.bias"}
    out = opt(params, quadratic_grads(params, 0))
    for a, b in zip(jax.tree.leaves(out)[:2], jax.tree.leaves(params)[:2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out["scale"], params["scale"])


@pytest.mark.parametrize("make", [lambda p: Freeze(p), lambda p: Masked(SGD(0.1), p)])
def test_bad_patterns(make):
    with pytest.raises(ValueError, match=r"invalid regular expression in pattern 're:\(x'"):
        make("re:(x")
    with pytest.raises(ValueError, match=r"unknown pattern syntax 'rx:'"):
        make(["ok.*", "rx:a"])
