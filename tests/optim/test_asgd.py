import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import models

import flarejax as flr


class TorchASGD:
    """``torch.optim.ASGD`` in float64 NumPy (complex128 for complex parameters).

    A port of ``_single_tensor_asgd`` in torch/optim/asgd.py, with its state
    (``step``, ``eta``, ``mu`` and the average ``ax``) set up as ``ASGD._init_group``
    does: ``eta = lr``, ``mu = 1``, ``ax = 0``.
    """

    def __init__(self, params, lr, lambd, alpha, t0, weight_decay):
        wide = [np.complex128 if np.iscomplexobj(p) else np.float64 for p in params]
        self.params = [np.asarray(p).astype(w) for p, w in zip(params, wide)]
        self.ax = [np.zeros_like(p) for p in self.params]
        self.lr, self.lambd, self.alpha, self.t0, self.wd = lr, lambd, alpha, t0, weight_decay
        self.step_t, self.eta, self.mu = 0, lr, 1.0

    def step(self, grads):
        self.step_t += 1
        for i, g in enumerate(grads):
            grad = np.asarray(g).astype(self.params[i].dtype)
            if self.wd != 0:
                grad = grad + self.wd * self.params[i]
            self.params[i] = self.params[i] * (1 - self.lambd * self.eta) - self.eta * grad
            if self.mu != 1:
                self.ax[i] = self.ax[i] + (self.params[i] - self.ax[i]) * self.mu
            else:
                self.ax[i] = self.params[i].copy()
        self.eta = self.lr / ((1 + self.lambd * self.lr * self.step_t) ** self.alpha)
        self.mu = 1 / max(1, self.step_t - self.t0)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.complex64])
def test_asgd_averaged_params_match_torch_ax(dtype):
    """The iterates and their average (torch's ``ax`` state), with the average started."""
    kw = {"lambd": 0.5, "alpha": 0.75, "t0": 5.0, "weight_decay": 1e-2}
    params = models()["flat"]
    if dtype == jnp.complex64:
        params = jax.tree.map(lambda x: (x * (1 + 0.5j)).astype(dtype), params)
    leaves = jax.tree_util.tree_leaves(params)
    reference = TorchASGD(leaves, lr=0.01, **kw)
    opt = flr.optim.ASGD(0.01, **kw)
    step = jax.jit(lambda o, p, g: (o, o(p, g)))
    ours = params
    for t in range(30):
        # The gradient of sum |p - 0.3|^2 / 2, drifting: complex where p is.
        drift = 0.01 * np.cos(t)
        grads = jax.tree.map(lambda p, d=drift: p - 0.3 + d * p, ours)
        reference.step(jax.tree_util.tree_leaves(grads))
        opt, ours = step(opt, ours, grads)

    def close(actual, arrays):
        for a, b in zip(jax.tree_util.tree_leaves(actual), arrays):
            np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=1e-6)

    close(ours, reference.params)
    close(opt.averaged_params(ours), reference.ax)
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
