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
    from flarejax.testing._registry import registry

    out = {}
    for name, entry in registry().items():
        cls = getattr(flr.optim, name)
        if "weight_decay" in inspect.signature(cls.__init__).parameters:
            out[name] = entry
    return out


DECAYING = _decaying_builtins()


def test_every_weight_decay_takes_a_schedule():
    """A schedule is accepted at construction and used by the (jitted) step.

    The schedule grows from 0 to 0.5 over 2 steps; the numbers are checked against
    optax where it has the optimizer (tests of AdamW, MADGRAD, Prodigy, ...); here:
    every optimizer with a ``weight_decay`` steps with one, and a decay of 0 at the
    first step leaves it where the undecayed optimizer goes.
    """
    assert {"AdamW", "AdamaxW", "NAdamW", "Lion", "LAMB", "MADGRAD", "Prodigy"} <= set(DECAYING)
    params = {"w": jnp.asarray([[0.5, -1.0], [2.0, 0.25]]), "b": jnp.asarray([0.1, -0.2])}
    grads = jax.tree.map(lambda p: 0.3 * p + 0.1, params)
    sched = optax.linear_schedule(0.0, 0.5, 2)

    def loss_fn(p):
        return sum(jnp.sum(x**2) for x in jax.tree.leaves(p))

    for name, entry in sorted(DECAYING.items()):
        # The catalogue's construction (wrappers wrap SGD), with the decay replaced;
        # the loss (and loss_fn) where the optimizer needs them, as its row passes them.
        make_extras = entry.options.get("extras")
        extras = make_extras(params, 0, loss_fn) if make_extras else {}
        # One jitted call steps both (the eager call is the same compiled code).
        step = jax.jit(lambda a, b, p, g, extras=extras: (a(p, g, **extras), b(p, g, **extras)))
        with_schedule, without = step(
            entry.build_example(weight_decay=sched),
            entry.build_example(weight_decay=0.0),
            params,
            grads,
        )
        for key in params:
            np.testing.assert_allclose(
                with_schedule[key], without[key], rtol=1e-6, err_msg=f"{name}.{key}"
            )
