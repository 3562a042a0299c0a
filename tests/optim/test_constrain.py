import numpy as np
import optax
from helpers import check_parity, models, quadratic_grads

from flarejax.optim import SGD, Chain, KeepParamsNonnegative


def test_keep_params_nonnegative_matches_optax():
    check_parity(
        lambda: Chain(SGD(0.2), KeepParamsNonnegative()),
        optax.chain(optax.sgd(0.2), optax.keep_params_nonnegative()),
        model_names=("nested",),
        modes=("jit",),
    )


def test_params_stop_at_zero():
    params = {k: abs(v) for k, v in models()["flat"].items()}
    for i in range(20):
        params = Chain(SGD(0.5), KeepParamsNonnegative())(params, quadratic_grads(params, i))
        assert all(np.all(np.asarray(v) >= 0) for v in params.values())
