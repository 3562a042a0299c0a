import pytest
from helpers import models

import flarejax as flr


def test_yogi_state_starts_at_initial_accumulator():
    opt = flr.optim.Yogi(0.01)
    opt.init(models()["matrix"])
    for state in (opt.m, opt.v):
        assert [float(x.min()) for x in state.values()] == [pytest.approx(1e-6)]
        assert [float(x.max()) for x in state.values()] == [pytest.approx(1e-6)]
