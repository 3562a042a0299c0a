import numpy as np
from helpers import models, quadratic_grads

from flarejax.optim import SGD, Chain, KeepParamsNonnegative


def test_params_stop_at_zero():
    params = {k: abs(v) for k, v in models()["flat"].items()}
    for i in range(20):
        params = Chain(SGD(0.5), KeepParamsNonnegative())(params, quadratic_grads(params, i))
        assert all(np.all(np.asarray(v) >= 0) for v in params.values())
