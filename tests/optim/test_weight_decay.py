import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import models, quadratic_grads

from flarejax.optim import SGD, AddDecayedWeights, Chain


def test_callable_mask_of_the_key():
    params = models()["flat"]
    g = quadratic_grads(params, 0)
    out = Chain(AddDecayedWeights(1.0, mask=lambda key: key == "w"), SGD(1.0))(params, g)
    np.testing.assert_allclose(out["b"], params["b"] - g["b"], rtol=1e-6)
    np.testing.assert_allclose(out["w"], params["w"] - g["w"] - params["w"], rtol=1e-5, atol=1e-6)


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0, got -0\.1"):
        AddDecayedWeights(-0.1)
    with pytest.raises(ValueError, match=r"invalid regular expression in pattern 're:\['"):
        AddDecayedWeights(0.1, mask="re:[")
    assert jnp.ndim(AddDecayedWeights().weight_decay) == 0


def _decaying_builtins():
    import inspect

    import flarejax as flr

    out = {}
    for name in flr.optim.__all__:
        cls = getattr(flr.optim, name)
        if not isinstance(cls, type) or not issubclass(cls, flr.optim.Optimizer):
            continue
        params = inspect.signature(cls.__init__).parameters
        if "weight_decay" in params:
            needs_lr = params.get("learning_rate") is not None and (
                params["learning_rate"].default is inspect.Parameter.empty
            )
            out[name] = (cls, needs_lr)
    return out


DECAYING = _decaying_builtins()


def test_every_weight_decay_takes_a_schedule():
    """A schedule is accepted at construction and used by the step, eagerly and under jit.

    The schedule grows from 0 to 0.5 over 2 steps; the numbers are checked against
    optax where it has the optimizer (tests of AdamW, MADGRAD, Prodigy, ...); here:
    every optimizer with a ``weight_decay`` steps with one, and a decay of 0 at the
    first step leaves it where the undecayed optimizer goes.
    """
    assert {"AdamW", "AdamaxW", "NAdamW", "Lion", "LAMB", "MADGRAD", "Prodigy"} <= set(DECAYING)
    params = {"w": jnp.asarray([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.asarray([0.1, -0.2])}
    grads = jax.tree.map(lambda p: 0.3 * p + 0.1, params)
    sched = optax.linear_schedule(0.0, 0.5, 2)
    for name, (cls, needs_lr) in sorted(DECAYING.items()):
        args = (0.01,) if needs_lr else ()
        for step in (lambda o, p, g: o(p, g), jax.jit(lambda o, p, g: o(p, g))):
            with_schedule = step(cls(*args, weight_decay=sched), params, grads)
            without = step(cls(*args, weight_decay=0.0), params, grads)
            for key in params:
                np.testing.assert_allclose(
                    with_schedule[key], without[key], rtol=1e-6, err_msg=f"{name}.{key}"
                )
