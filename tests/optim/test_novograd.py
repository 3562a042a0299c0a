from helpers import models

import flarejax as flr


def test_novograd_second_moment_is_one_scalar_per_parameter():
    opt = flr.optim.NovoGrad(0.01)
    opt.init(models()["flat"])
    assert {v.shape for v in opt.v.values()} == {()}
