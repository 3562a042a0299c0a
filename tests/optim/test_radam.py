import optax
from helpers import check_parity, f32

import flarejax as flr


def test_radam_matches_optax():
    # Over 50 steps rho_t crosses the threshold (at t = 6): both branches run.
    check_parity(
        lambda: flr.optim.RAdam(0.01),
        f32(optax.radam, 0.01),
        modes=("eager", "init"),
        model_names=("nested",),
    )
