"""Schedules: parity with optax 0.2.8 (eager, jit, vmap), WSD/trapezoid against
float64 NumPy, properties, and argument checks."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import example, given, settings

import flarejax.schedules as fs

RTOL, ATOL = 1e-6, 1e-7


def wsd_reference(
    peak: float,
    warmup: int,
    stable: int,
    decay: int,
    init: float = 0.0,
    end: float = 0.0,
    decay_type: str = "linear",
) -> Callable[[int], float]:
    """Warmup-stable-decay in plain float64 Python, phase by phase."""

    def f(t: int) -> float:
        if t < warmup:
            return init + (peak - init) * t / warmup
        if t < warmup + stable:
            return peak
        x = min((t - warmup - stable) / decay, 1.0)
        left = {
            "linear": 1.0 - x,
            "cosine": 0.5 * (1.0 + math.cos(math.pi * x)),
            "sqrt": 1.0 - math.sqrt(x),
        }[decay_type]
        return end + (peak - end) * left

    return f


def swalr_reference(init: float, swa: float, anneal: int, strategy: str) -> Callable[[int], float]:
    """torch.optim.swa_utils.SWALR's learning rate after t calls of its step().

    A float64 port of torch/optim/swa_utils.py ``SWALR.get_lr`` with its
    ``_cosine_anneal`` / ``_linear_anneal`` and ``_get_initial_lr``: each call
    recovers the previous step's starting rate from the current one and
    re-anneals towards ``swa``; the constructor's first call (``_step_count``
    1) gives step 0. From step ``anneal`` on SWALR holds ``swa`` exactly, so a
    few steps past it stand for every later one.
    """

    def anneal_func(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if strategy == "cos" else t

    def get_lr(lr: float, step_count: int) -> float:
        step = step_count - 1
        if anneal == 0:
            step = max(1, step)
        prev_alpha = anneal_func(max(0, min(1, (step - 1) / max(1, anneal))))
        prev_lr = swa if prev_alpha == 1 else (lr - prev_alpha * swa) / (1 - prev_alpha)
        alpha = anneal_func(max(0, min(1, step / max(1, anneal))))
        return swa * alpha + prev_lr * (1 - alpha)

    lrs = [get_lr(init, 1)]
    for step_count in range(2, anneal + 5):
        lrs.append(get_lr(lrs[-1], step_count))
    return lambda t: lrs[min(t, len(lrs) - 1)]


class Case(NamedTuple):
    ours: Callable[[], fs.Schedule]
    reference: Callable[[], Callable[[int], Any]]
    marks: tuple[int, ...]  # steps worth checking around (boundaries, ends)
    weak: bool = True  # Python-float arguments: the value must be a weak float


def _join_ours() -> fs.Schedule:
    return fs.join_schedules(
        [fs.constant(0.1), fs.linear(0.1, 1.0, 20), fs.exponential_decay(1.0, 10, 0.5)],
        [5, 25],
    )


def _join_optax() -> optax.Schedule:
    return optax.join_schedules(
        [
            optax.constant_schedule(0.1),
            optax.linear_schedule(0.1, 1.0, 20),
            optax.exponential_decay(1.0, 10, 0.5),
        ],
        [5, 25],
    )


_CYCLES = [
    dict(init_value=0.0, peak_value=1.0, warmup_steps=5, decay_steps=20),
    dict(init_value=0.1, peak_value=0.5, warmup_steps=0, decay_steps=30, end_value=0.01),
    dict(init_value=0.0, peak_value=0.2, warmup_steps=3, decay_steps=10, exponent=2.0),
]


def _pair(name: str, optax_name: str, *args: Any, **kwargs: Any) -> tuple[Callable, Callable]:
    ours = functools.partial(getattr(fs, name), *args, **kwargs)
    theirs = functools.partial(getattr(optax, optax_name), *args, **kwargs)
    return ours, theirs


def _case(name: str, optax_name: str, marks: tuple[int, ...], *args: Any, **kw: Any) -> Case:
    return Case(*_pair(name, optax_name, *args, **kw), marks=marks)


CASES: dict[str, Case] = {
    "constant": _case("constant", "constant_schedule", (), 0.3),
    "constant-array": Case(
        lambda: fs.constant(jnp.float32(0.1)),
        lambda: optax.constant_schedule(jnp.float32(0.1)),
        (),
        weak=False,
    ),
    "linear": _case("linear", "linear_schedule", (100,), 1.0, 0.01, 100),
    "linear-begin": _case("linear", "linear_schedule", (10, 60), 0.0, 2.0, 50, 10),
    "linear-zero-steps": _case("linear", "linear_schedule", (), 0.5, 0.1, 0),
    "polynomial": _case("polynomial", "polynomial_schedule", (100,), 1.0, 0.01, 2, 100),
    "polynomial-sqrt": _case(
        "polynomial", "polynomial_schedule", (7, 47), 1e-3, 1e-5, 0.5, 40, transition_begin=7
    ),
    "polynomial-cubic": _case("polynomial", "polynomial_schedule", (30,), 2.0, 0.5, 3, 30),
    "exponential": _case("exponential_decay", "exponential_decay", (100,), 1.0, 100, 0.5),
    "exponential-staircase": _case(
        "exponential_decay", "exponential_decay", (10, 40, 70), 1.0, 30, 0.1, 10, True
    ),
    "exponential-floor": _case(
        "exponential_decay", "exponential_decay", (20, 46), 1.0, 20, 0.5, 0, False, 0.2
    ),
    "exponential-ceiling": _case(
        "exponential_decay", "exponential_decay", (5, 30, 55), 0.1, 25, 2.0, 5, True, 1.0
    ),
    "cosine": _case("cosine_decay", "cosine_decay_schedule", (50, 100), 1.0, 100),
    "cosine-alpha": _case("cosine_decay", "cosine_decay_schedule", (25, 50), 0.5, 50, 0.1),
    "cosine-exponent": _case(
        "cosine_decay", "cosine_decay_schedule", (30,), 2.0, 30, alpha=0.2, exponent=2.0
    ),
    "warmup-constant": _case("warmup_constant", "warmup_constant_schedule", (10,), 0.0, 1.0, 10),
    "warmup-constant-1": _case("warmup_constant", "warmup_constant_schedule", (1,), 0.1, 0.5, 1),
    "warmup-cosine": _case(
        "warmup_cosine_decay", "warmup_cosine_decay_schedule", (10, 100), 0.0, 1.0, 10, 100
    ),
    "warmup-cosine-no-warmup": _case(
        "warmup_cosine_decay", "warmup_cosine_decay_schedule", (50,), 0.1, 1.0, 0, 50, 0.05
    ),
    "warmup-cosine-exponent": _case(
        "warmup_cosine_decay",
        "warmup_cosine_decay_schedule",
        (20, 120),
        1e-4,
        3e-3,
        20,
        120,
        end_value=1e-5,
        exponent=1.5,
    ),
    "warmup-exponential": _case(
        "warmup_exponential_decay",
        "warmup_exponential_decay_schedule",
        (10, 30, 50),
        0.0,
        1.0,
        10,
        20,
        0.5,
    ),
    "warmup-exponential-all": _case(
        "warmup_exponential_decay",
        "warmup_exponential_decay_schedule",
        (5, 8, 18, 28, 48),
        0.0,
        1.0,
        5,
        10,
        0.3,
        transition_begin=3,
        staircase=True,
        end_value=0.01,
    ),
    "piecewise-constant": _case(
        "piecewise_constant", "piecewise_constant_schedule", (10, 30), 1.0, {30: 0.5, 10: 0.1}
    ),
    "piecewise-constant-empty": _case(
        "piecewise_constant", "piecewise_constant_schedule", (), 0.2, None
    ),
    "piecewise-constant-zero": _case(
        "piecewise_constant",
        "piecewise_constant_schedule",
        (0, 5, 20),
        1.0,
        {0: 0.5, 5: 2.0, 20: 0.0},
    ),
    "piecewise-linear": _case(
        "piecewise_interpolate",
        "piecewise_interpolate_schedule",
        (4, 8),
        "linear",
        1.0,
        {4: 0.1, 8: 0.01},
    ),
    "piecewise-cosine": _case(
        "piecewise_interpolate",
        "piecewise_interpolate_schedule",
        (10, 30, 31),
        "cosine",
        0.5,
        {10: 2.0, 30: 0.1, 31: 3.0},
    ),
    "piecewise-linear-empty": _case(
        "piecewise_interpolate", "piecewise_interpolate_schedule", (), "linear", 2.0
    ),
    "piecewise-cosine-at-zero": _case(
        "piecewise_interpolate",
        "piecewise_interpolate_schedule",
        (0, 10),
        "cosine",
        1.0,
        {0: 0.5, 10: 0.2},
    ),
    "join": Case(_join_ours, _join_optax, (5, 25)),
    "sgdr": Case(
        lambda: fs.sgdr(_CYCLES), lambda: optax.sgdr_schedule(_CYCLES), (5, 20, 50, 53, 60)
    ),
    "sgdr-one-cycle": Case(
        lambda: fs.sgdr(_CYCLES[:1]), lambda: optax.sgdr_schedule(_CYCLES[:1]), (5, 20)
    ),
    "linear-onecycle": _case(
        "linear_onecycle", "linear_onecycle_schedule", (30, 85, 100), 100, 1.0
    ),
    "linear-onecycle-args": _case(
        "linear_onecycle",
        "linear_onecycle_schedule",
        (9, 27, 37),
        37,
        0.5,
        pct_start=0.25,
        pct_final=0.75,
        div_factor=10.0,
        final_div_factor=100.0,
    ),
    "cosine-onecycle": _case("cosine_onecycle", "cosine_onecycle_schedule", (30, 100), 100, 1.0),
    "cosine-onecycle-args": _case(
        "cosine_onecycle", "cosine_onecycle_schedule", (18, 45), 45, 2.0, 0.4, 5.0, 50.0
    ),
    "wsd-linear": Case(
        lambda: fs.warmup_stable_decay(1.0, 10, 20, 30),
        lambda: wsd_reference(1.0, 10, 20, 30),
        (10, 30, 60),
    ),
    "wsd-cosine": Case(
        lambda: fs.warmup_stable_decay(
            3e-3, 7, 0, 25, init_value=1e-4, end_value=3e-5, decay_type="cosine"
        ),
        lambda: wsd_reference(3e-3, 7, 0, 25, 1e-4, 3e-5, "cosine"),
        (7, 32),
    ),
    "wsd-sqrt-no-warmup": Case(
        lambda: fs.warmup_stable_decay(0.5, 0, 15, 40, end_value=0.05, decay_type="sqrt"),
        lambda: wsd_reference(0.5, 0, 15, 40, 0.0, 0.05, "sqrt"),
        (15, 55),
    ),
    "trapezoid": Case(
        lambda: fs.trapezoid(1.0, 10, 20, 15, init_value=0.1, end_value=0.01),
        lambda: wsd_reference(1.0, 10, 20, 15, 0.1, 0.01),
        (10, 30, 45),
    ),
    "trapezoid-no-hold": Case(
        lambda: fs.trapezoid(2.0, 1, 0, 1), lambda: wsd_reference(2.0, 1, 0, 1), (1, 2)
    ),
    "swa-anneal-cos": Case(
        lambda: fs.swa_anneal(0.1, 0.02, 10),
        lambda: swalr_reference(0.1, 0.02, 10, "cos"),
        (10,),
    ),
    "swa-anneal-linear": Case(
        lambda: fs.swa_anneal(0.05, 0.2, 7, "linear"),
        lambda: swalr_reference(0.05, 0.2, 7, "linear"),
        (7,),
    ),
    "swa-anneal-none": Case(
        lambda: fs.swa_anneal(0.1, 0.02, 0), lambda: swalr_reference(0.1, 0.02, 0, "cos"), ()
    ),
}


N_STEPS = 32  # one length for every case, so eager kernels are shared between cases


def _key_steps(marks: tuple[int, ...]) -> set[int]:
    """0, 1, each mark and its neighbours, and steps well past the end."""
    end = max(marks, default=10)
    steps = {0, 1, 2 * end + 3, 100_000}
    return steps | {m + d for m in marks for d in (-1, 0, 1) if m + d >= 0}


def _steps(marks: tuple[int, ...]) -> np.ndarray:
    """The key steps and a sweep."""
    end = max(marks, default=10)
    steps = _key_steps(marks)
    sweep = iter(
        [*np.linspace(0, 1.5 * end + 5, 200).astype(int), *range(2 * end + 4, 3 * end + 60)]
    )
    while len(steps) < N_STEPS:
        steps.add(int(next(sweep)))
    assert len(steps) == N_STEPS
    return np.array(sorted(steps), dtype=np.int32)


@functools.cache
def _expected(name: str) -> tuple[np.ndarray, np.ndarray]:
    case = CASES[name]
    steps = _steps(case.marks)
    reference = case.reference()  # optax, eagerly, at Python-int steps
    return steps, np.array([float(reference(int(s))) for s in steps])


def _close(actual: Any, expected: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=RTOL, atol=ATOL)


names = pytest.mark.parametrize("name", list(CASES))


@names
def test_eager_python_ints(name: str) -> None:
    steps, expected = _expected(name)
    key = np.isin(steps, list(_key_steps(CASES[name].marks)))
    schedule = CASES[name].ours()
    values = [schedule(int(s)) for s in steps[key]]
    assert all(isinstance(v, jax.Array) and v.shape == () for v in values)
    _close(values, expected[key])


@names
def test_jit_traced_int32(name: str) -> None:
    steps, expected = _expected(name)
    schedule = jax.jit(CASES[name].ours())
    values = [schedule(jnp.int32(s)) for s in steps]
    _close(values, expected)
    if CASES[name].weak:  # a weak float32: scaling bfloat16 arrays keeps them bfloat16
        assert values[0].dtype == jnp.float32 and values[0].weak_type
        assert (jnp.ones(2, jnp.bfloat16) * values[0]).dtype == jnp.bfloat16


@names
def test_vmap_over_counts(name: str) -> None:
    steps, expected = _expected(name)
    _close(jax.vmap(CASES[name].ours())(jnp.asarray(steps)), expected)


@names
def test_array_of_counts_is_elementwise(name: str) -> None:
    steps, expected = _expected(name)
    counts = jnp.asarray(steps)
    values = CASES[name].ours()(counts)
    assert values.shape == counts.shape
    _close(values, expected)


@pytest.mark.parametrize("name", ["constant", "piecewise-constant-empty", "trapezoid"])
def test_value_has_the_shape_of_count(name: str) -> None:
    assert CASES[name].ours()(jnp.zeros((2, 3), jnp.int32)).shape == (2, 3)


def test_documented_departures_from_optax() -> None:
    # No warm-up means no warm-up (optax's warmup_constant_schedule stays at init_value).
    assert float(fs.warmup_constant(0.1, 1.0, 0)(5)) == 1.0
    assert float(optax.warmup_constant_schedule(0.1, 1.0, 0)(5)) == np.float32(0.1)
    # A zero peak still decays to end_value (optax's alpha = end / peak becomes 0).
    assert float(fs.warmup_cosine_decay(0.0, 0.0, 2, 10, end_value=0.5)(100)) == 0.5
    # Under jit, optax's 1 - t / T can come out at -1e-8 for t >= T (XLA turns / T into
    # * (1 / T)): a fractional power then gives NaN; ours computes (T - t) / T.
    count = jnp.int32(47)
    assert np.isnan(jax.jit(optax.polynomial_schedule(1.0, 0.0, 0.5, 40, 7))(count))
    assert float(jax.jit(fs.polynomial(1.0, 0.0, 0.5, 40, 7))(count)) == 0.0
    # Likewise, optax's staircase floor((t - B) / T) lags a step under jit for some T (41, 47..).
    counts = jnp.arange(0, 250, dtype=jnp.int32)
    for steps in (41, 47, 55):
        exact = 0.5 ** (np.arange(250) // steps)
        staircase = jax.jit(jax.vmap(fs.exponential_decay(1.0, steps, 0.5, staircase=True)))
        np.testing.assert_array_equal(staircase(counts), exact.astype(np.float32))
    # When int(pct * T) collide (tiny T), optax's dict of boundaries drops a phase; the final
    # value here stays peak / (div_factor * final_div_factor).
    final = fs.linear_onecycle(1, 1.0, div_factor=25.0, final_div_factor=1e4)(5)
    np.testing.assert_allclose(final, 1.0 / 25.0 / 1e4, rtol=RTOL)


def test_traced_hyperparameters() -> None:
    """Hyperparameters may themselves be traced (e.g. built inside a jitted step)."""

    @jax.jit
    def value(peak: jax.Array, count: jax.Array) -> jax.Array:
        return fs.warmup_cosine_decay(0.0, peak, 10, 100, end_value=0.1 * peak)(count)

    ref = optax.warmup_cosine_decay_schedule(0.0, 2.0, 10, 100, end_value=0.2)
    for t in (0, 5, 10, 55, 100, 200):
        _close(value(jnp.float32(2.0), jnp.int32(t)), np.array(float(ref(t))))


# --- properties --------------------------------------------------------------------------------

# One fixed shape for every example, so eager kernels compile once; every phase length below
# is at most 40, so the counts always run past the end of the schedule.
COUNTS = np.arange(128, dtype=np.int32)
values = st.floats(0.0, 10.0, allow_subnormal=False)
lengths = st.integers(0, 40)


def _optax_values(schedule: optax.Schedule) -> np.ndarray:
    return np.asarray(jax.vmap(schedule)(jnp.asarray(COUNTS)), np.float64)


@settings(max_examples=30, deadline=None)
@given(
    peak=st.floats(1e-4, 10.0),
    init=values,
    end=values,
    warmup=lengths,
    stable=lengths,
    decay=st.integers(1, 40),
    decay_type=st.sampled_from(["linear", "cosine", "sqrt"]),
)
def test_wsd_properties(
    peak: float, init: float, end: float, warmup: int, stable: int, decay: int, decay_type: str
) -> None:
    schedule = fs.warmup_stable_decay(peak, warmup, stable, decay, init, end, decay_type)
    got = np.asarray(schedule(COUNTS), np.float64)
    scale = max(peak, init, end)
    ref = wsd_reference(peak, warmup, stable, decay, init, end, decay_type)
    np.testing.assert_allclose(got, [ref(int(t)) for t in COUNTS], rtol=1e-6, atol=2e-7 * scale)

    tol = 1e-6 * scale
    assert got.min() >= min(peak, init, end) - tol and got.max() <= max(peak, init, end) + tol
    total = warmup + stable + decay
    warm, hold, cool = np.split(got[: total + 1], [warmup, warmup + stable])
    assert np.all(np.sign(peak - init) * np.diff(np.append(warm, peak)) >= -tol)
    assert np.all(hold == np.float32(peak))
    assert np.all(np.sign(end - peak) * np.diff(cool) >= -tol)
    assert np.all(got[total:] == np.float32(end))


@settings(max_examples=15, deadline=None)
@given(peak=st.floats(1e-4, 10.0), end=values, w=lengths, h=lengths, c=st.integers(1, 40))
def test_trapezoid_is_linear_wsd(peak: float, end: float, w: int, h: int, c: int) -> None:
    got = fs.trapezoid(peak, w, h, c, init_value=0.5 * peak, end_value=end)(COUNTS)
    want = fs.warmup_stable_decay(peak, w, h, c, 0.5 * peak, end, "linear")(COUNTS)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=10, deadline=None)
@given(
    init=st.floats(1e-3, 10.0),
    end=st.floats(0.0, 10.0),
    power=st.sampled_from([0.5, 1, 2, 3.0]),
    steps=lengths,
    begin=lengths,
)
# (I - E) f^p + E cancels in float32 when I << E: both sides are then within an ulp of
# E of the exact I, on either side (here 1.0004e-3 and 0.99945e-3 for 1e-3).
@example(init=0.001, end=8.322142015982708, power=0.5, steps=1, begin=0)
def test_polynomial_matches_optax(
    init: float, end: float, power: float, steps: int, begin: int
) -> None:
    ours = fs.polynomial(init, end, power, steps, begin)(COUNTS)
    theirs = _optax_values(optax.polynomial_schedule(init, end, power, steps, begin))
    # Two float32 roundings of the largest term apart at most.
    atol = 2 * float(np.finfo(np.float32).eps) * max(init, end)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=atol)


def piecewise_reference(kind: str, init: float, knots: dict[int, float]) -> np.ndarray:
    """optax's piecewise semantics in float64 NumPy: interpolate between accumulated values."""
    bounds = [0, *sorted(knots)]
    values = np.cumprod([init, *(knots[b] for b in sorted(knots))])
    out = np.full(COUNTS.shape, values[-1])
    for i in reversed(range(len(bounds) - 1)):
        pct = (COUNTS - bounds[i]) / max(bounds[i + 1] - bounds[i], 1)
        if kind == "linear":
            blend = values[i] + (values[i + 1] - values[i]) * pct
        elif kind == "cosine":
            blend = values[i + 1] + (values[i] - values[i + 1]) * (1 + np.cos(np.pi * pct)) / 2
        else:  # constant
            blend = np.full(COUNTS.shape, values[i])
        inside = (bounds[i] <= COUNTS) & (bounds[i + 1] > COUNTS)
        out = np.where(inside, blend, out)
    return out


@settings(max_examples=25, deadline=None)
@given(
    knots=st.dictionaries(st.integers(0, 100), st.floats(0.0, 4.0), max_size=5),
    kind=st.sampled_from(["linear", "cosine"]),
)
def test_piecewise_properties(knots: dict[int, float], kind: str) -> None:
    scale = float(np.prod([max(s, 1.0) for s in knots.values()]))
    ours = fs.piecewise_interpolate(kind, 1.0, knots)(COUNTS)
    want = piecewise_reference(kind, 1.0, knots)
    np.testing.assert_allclose(ours, want, rtol=RTOL, atol=2 * ATOL * scale)

    ours = fs.piecewise_constant(1.0, knots)(COUNTS)
    want = piecewise_reference("constant", 1.0, knots)
    np.testing.assert_allclose(ours, want, rtol=RTOL, atol=2 * ATOL * scale)


# --- argument checks ---------------------------------------------------------------------------

_s = fs.constant(1.0)
_cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=0)

BAD: list[tuple[str, Callable[[], Any], str]] = [
    ("linear-steps", lambda: fs.linear(1.0, 0.0, -1), "transition_steps"),
    ("linear-begin", lambda: fs.linear(1.0, 0.0, 10, -1), "transition_begin"),
    ("polynomial-steps", lambda: fs.polynomial(1.0, 0.0, 2, -5), "transition_steps"),
    ("exp-steps", lambda: fs.exponential_decay(1.0, 0, 0.5), "transition_steps"),
    ("exp-rate-zero", lambda: fs.exponential_decay(1.0, 10, 0.0), "decay_rate"),
    ("exp-rate-neg", lambda: fs.exponential_decay(1.0, 10, -0.5), "decay_rate"),
    ("exp-begin", lambda: fs.exponential_decay(1.0, 10, 0.5, -2), "transition_begin"),
    ("cosine-zero", lambda: fs.cosine_decay(1.0, 0), "decay_steps"),
    ("cosine-neg", lambda: fs.cosine_decay(1.0, -3), "decay_steps"),
    ("warmup-constant", lambda: fs.warmup_constant(0.0, 1.0, -1), "warmup_steps"),
    ("warmup-cos-warmup", lambda: fs.warmup_cosine_decay(0.0, 1.0, -1, 10), "warmup_steps"),
    ("warmup-cos-decay", lambda: fs.warmup_cosine_decay(0.0, 1.0, 10, 10), "decay_steps"),
    ("warmup-exp-warmup", lambda: fs.warmup_exponential_decay(0, 1, -1, 9, 0.5), "warmup_steps"),
    ("warmup-exp-steps", lambda: fs.warmup_exponential_decay(0, 1, 5, 0, 0.5), "transition_steps"),
    ("pc-boundary", lambda: fs.piecewise_constant(1.0, {-1: 0.5}), "boundaries_and_scales"),
    ("pc-scale", lambda: fs.piecewise_constant(1.0, {5: -0.1}), "boundaries_and_scales"),
    ("pi-type", lambda: fs.piecewise_interpolate("quadratic", 1.0), "interpolate_type"),
    ("pi-boundary", lambda: fs.piecewise_interpolate("linear", 1.0, {-3: 1}), "boundaries_and"),
    ("pi-scale", lambda: fs.piecewise_interpolate("cosine", 1.0, {3: -1}), "boundaries_and"),
    ("join-order", lambda: fs.join_schedules([_s, _s, _s], [5, 3]), "boundaries"),
    ("join-equal", lambda: fs.join_schedules([_s, _s, _s], [5, 5]), "boundaries"),
    ("join-count", lambda: fs.join_schedules([_s, _s], []), "boundaries"),
    ("join-negative", lambda: fs.join_schedules([_s, _s], [-1]), "boundaries"),
    ("join-empty", lambda: fs.join_schedules([], []), "schedules"),
    ("sgdr-empty", lambda: fs.sgdr([]), "cosine_kwargs"),
    ("sgdr-decay", lambda: fs.sgdr([{**_cycle, "decay_steps": 0}]), "decay_steps"),
    ("lin1c-steps", lambda: fs.linear_onecycle(0, 1.0), "transition_steps"),
    ("lin1c-start", lambda: fs.linear_onecycle(10, 1.0, pct_start=1.5), "pct_start"),
    ("lin1c-final", lambda: fs.linear_onecycle(10, 1.0, pct_final=0.2), "pct_final"),
    ("lin1c-div", lambda: fs.linear_onecycle(10, 1.0, div_factor=0.0), "div_factor"),
    ("lin1c-fdiv", lambda: fs.linear_onecycle(10, 1.0, final_div_factor=-1), "final_div_factor"),
    ("cos1c-steps", lambda: fs.cosine_onecycle(-5, 1.0), "transition_steps"),
    ("cos1c-start", lambda: fs.cosine_onecycle(10, 1.0, pct_start=-0.1), "pct_start"),
    ("wsd-warmup", lambda: fs.warmup_stable_decay(1.0, -1, 0, 10), "warmup_steps"),
    ("wsd-stable", lambda: fs.warmup_stable_decay(1.0, 0, -1, 10), "stable_steps"),
    ("wsd-decay", lambda: fs.warmup_stable_decay(1.0, 0, 0, 0), "decay_steps"),
    ("wsd-type", lambda: fs.warmup_stable_decay(1.0, 1, 1, 1, decay_type="exp"), "decay_type"),
    ("trap-warmup", lambda: fs.trapezoid(1.0, -2, 0, 10), "warmup_steps"),
    ("trap-hold", lambda: fs.trapezoid(1.0, 0, -1, 10), "hold_steps"),
    ("trap-cooldown", lambda: fs.trapezoid(1.0, 0, 0, 0), "cooldown_steps"),
    ("swa-steps", lambda: fs.swa_anneal(1.0, 0.1, -1), "anneal_steps"),
    ("swa-strategy", lambda: fs.swa_anneal(1.0, 0.1, 5, "exp"), "anneal_strategy"),
]


@pytest.mark.parametrize(("make", "arg"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_argument_raises_value_error(make: Callable[[], Any], arg: str) -> None:
    with pytest.raises(ValueError, match=arg) as info:
        make()
    assert "got" in str(info.value)


def test_error_message_names_range_and_value() -> None:
    with pytest.raises(ValueError) as info:
        fs.warmup_cosine_decay(0.0, 1.0, 10, 7)
    assert str(info.value) == "decay_steps must be an integer >= 11 (warmup_steps + 1), got 7"
    with pytest.raises(ValueError, match=r"pct_start must be in \[0, 1\], got 1.5"):
        fs.cosine_onecycle(10, 1.0, pct_start=1.5)


@pytest.mark.parametrize("steps", [2.5, "10", True])
def test_non_integer_step_count_raises_type_error(steps: Any) -> None:
    with pytest.raises(TypeError, match="warmup_steps"):
        fs.warmup_constant(0.0, 1.0, steps)


def test_public_names() -> None:
    assert set(fs.__all__) == {
        "Schedule",
        "constant",
        "cosine_decay",
        "cosine_onecycle",
        "exponential_decay",
        "join_schedules",
        "linear",
        "linear_onecycle",
        "piecewise_constant",
        "piecewise_interpolate",
        "polynomial",
        "sgdr",
        "swa_anneal",
        "trapezoid",
        "warmup_constant",
        "warmup_cosine_decay",
        "warmup_exponential_decay",
        "warmup_stable_decay",
    }
    assert all(hasattr(fs, name) for name in fs.__all__)
