import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import models

import flarejax as flr


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64])
def test_asgd_averaged_params_match_torch_ax(dtype):
    """The iterates and their average (torch's ``ax`` state), with the average started."""
    kw = {"lambd": 0.5, "alpha": 0.75, "t0": 5.0, "weight_decay": 1e-2}
    params = models()["flat"]
    if dtype == jnp.complex64:
        params = jax.tree.map(lambda x: (x * (1 + 0.5j)).astype(dtype), params)
    leaves = jax.tree_util.tree_leaves(params)
    theirs = [torch.tensor(np.asarray(x)) for x in leaves]
    reference = torch.optim.ASGD(theirs, lr=0.01, **kw)
    opt = flr.optim.ASGD(0.01, **kw)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    ours = params
    for t in range(30):
        # The gradient of sum |p - 0.3|^2 / 2, drifting: complex where p is.
        drift = 0.01 * np.cos(t)
        grads = jax.tree.map(lambda p, d=drift: p - 0.3 + d * p, ours)
        for p, g in zip(theirs, jax.tree_util.tree_leaves(grads)):
            p.grad = torch.tensor(np.asarray(g))
        reference.step()
        opt, ours = step(opt, ours, grads)

    def close(actual, tensors):
        for a, b in zip(jax.tree_util.tree_leaves(actual), tensors):
            np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)

    close(ours, theirs)
    close(opt.averaged_params(ours), [reference.state[p]["ax"] for p in theirs])
    # Averaging started after t0 steps: the average is no longer the iterate.
    assert not jnp.allclose(opt.averaged_params(ours)["w"], ours["w"])


def test_asgd_averaged_params_keep_other_leaves_and_dtype():
    opt = flr.optim.ASGD(0.1)
    model = {"w": jnp.ones(3, jnp.bfloat16), "n": jnp.arange(3), "name": "layer"}
    model = opt(model, {"w": jnp.ones(3, jnp.bfloat16), "n": None, "name": None})
    out = opt.averaged_params(model)
    assert out["name"] == "layer" and out["n"] is model["n"]
    assert out["w"].dtype == jnp.bfloat16
    # Before t0 the average is the iterate itself, as in torch.
    assert jnp.array_equal(out["w"], model["w"])
