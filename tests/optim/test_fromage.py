import optax
from helpers import check_parity, f32

import flarejax as flr


def test_fromage_matches_optax():
    check_parity(
        lambda: flr.optim.Fromage(0.05),
        f32(optax.fromage, 0.05),
        modes=("jit", "init"),
        model_names=("nested",),
    )


def test_fromage_schedule_matches_optax():
    sched = optax.linear_schedule(0.2, 0.01, 30)
    check_parity(
        lambda: flr.optim.Fromage(sched, min_norm=1e-3),
        optax.fromage(sched, min_norm=1e-3),
        modes=("eager",),
        model_names=("flat",),
    )
