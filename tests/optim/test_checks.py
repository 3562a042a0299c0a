import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flarejax.optim._checks import check_nonnegative, check_positive, check_range


def test_range_message():
    with pytest.raises(ValueError, match=r"^b1 must be in \[0, 1\), got 1\.5$"):
        check_range("b1", 1.5, 0, 1)


@pytest.mark.parametrize(
    ("value", "lo_open", "hi_open", "ok"),
    [
        (0.0, False, True, True),
        (0.0, True, True, False),
        (1.0, False, True, False),
        (1.0, False, False, True),
        (0.5, True, True, True),
        (float("nan"), False, False, False),
    ],
)
def test_range_bounds(value, lo_open, hi_open, ok):
    if ok:
        check_range("x", value, 0, 1, lo_open=lo_open, hi_open=hi_open)
    else:
        with pytest.raises(ValueError, match="x must be in"):
            check_range("x", value, 0, 1, lo_open=lo_open, hi_open=hi_open)


def test_range_interval_text():
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\], got 0$"):
        check_range("x", 0, 0, 1, lo_open=True, hi_open=False)
    with pytest.raises(ValueError, match=r"x must be in \[1, inf\), got 0\.5$"):
        check_range("x", 0.5, 1, float("inf"))


def test_positive_and_nonnegative():
    check_positive("lr", 1e-3)
    check_nonnegative("wd", 0.0)
    with pytest.raises(ValueError, match=r"^lr must be > 0, got 0\.0$"):
        check_positive("lr", 0.0)
    with pytest.raises(ValueError, match=r"^wd must be >= 0, got -1$"):
        check_nonnegative("wd", -1)


def test_concrete_arrays_are_checked():
    with pytest.raises(ValueError, match=r"got -0\.5"):
        check_nonnegative("wd", jnp.asarray(-0.5))
    with pytest.raises(ValueError, match=r"got \[1\.0, -1\.0\]"):
        check_positive("eps", np.array([1.0, -1.0]))


def test_schedules_none_and_tracers_are_skipped():
    check_positive("lr", lambda count: -1.0)
    check_range("b1", None, 0, 1)

    @jax.jit
    def f(x):
        check_positive("lr", x)
        check_range("b1", x, 0, 1)
        return x

    f(-1.0)


def test_schedules_and_optimizers_share_one_message_style():
    import flarejax as flr
    from flarejax._core.checks import check_real, check_steps

    with pytest.raises(ValueError, match=r"^decay_steps must be an integer >= 1, got 0$"):
        check_steps("decay_steps", 0, minimum=1)
    with pytest.raises(TypeError, match=r"^n must be an integer step count, got 1\.5$"):
        check_steps("n", 1.5)
    with pytest.raises(ValueError, match=r"^x must be > 0, got -1\.0$"):
        check_real("x", -1.0, gt=0.0)
    with pytest.raises(TypeError, match=r"^x must be a number, got str$"):
        check_real("x", "a", gt=0.0)
    with pytest.raises(ValueError, match=r"^pct_start must be in \[0, 1\], got 2\.0$"):
        flr.schedules.cosine_onecycle(10, 1.0, pct_start=2.0)
    with pytest.raises(ValueError, match=r"^b1 must be in \[0, 1\), got 2\.0$"):
        flr.optim.Adam(0.1, b1=2.0)
