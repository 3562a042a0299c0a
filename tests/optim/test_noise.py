import pytest

from flarejax.optim import AddNoise


@pytest.mark.parametrize(
    ("args", "match"),
    [((-0.1, 0.5), r"eta must be >= 0, got -0\.1"), ((0.1, -1.0), r"gamma must be >= 0")],
)
def test_invalid_hyperparameters(args, match):
    with pytest.raises(ValueError, match=match):
        AddNoise(*args)
