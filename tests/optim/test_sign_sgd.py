import pytest

import flarejax as flr


def test_sign_sgd_invalid_hyperparameters():
    with pytest.raises(ValueError, match=r"learning_rate must be >= 0, got -0\.1"):
        flr.optim.SignSGD(-0.1)
