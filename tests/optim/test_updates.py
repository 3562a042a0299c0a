"""``Optimizer.updates``: the one method that steps an optimizer, alone or as a member."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import flarejax.optim as O


class Halved(O.SGD):
    """Overrides ``updates``: the base ``__call__`` and the combinators use it."""

    def updates(self, grads, params, extras):
        return {
            k: None if u is None else u / 2
            for k, u in super().updates(grads, params, extras).items()
        }


class Doubled(O.SGD):
    """Overrides ``__call__`` only, and calls the default one."""

    def __call__(self, model, grads, **extras):
        return super().__call__(model, {k: 2 * g for k, g in grads.items()}, **extras)


def _model():
    return {"a": jnp.ones(3), "b": jnp.full(2, 2.0)}


def _grads():
    return {"a": jnp.full(3, 0.5), "b": jnp.ones(2)}


def test_the_base_call_steps_through_updates():
    new = Halved(1.0)(_model(), _grads())
    np.testing.assert_allclose(new["a"], 1.0 - 0.25)


def test_a_chain_steps_its_members_through_updates():
    new = O.Chain(Halved(1.0), O.Scale(1.0))(_model(), _grads())
    np.testing.assert_allclose(new["b"], 2.0 - 0.5)


def test_overriding_call_gives_an_updates_that_calls_it():
    assert Doubled.updates is not O.Optimizer.updates
    assert Halved.updates is not Doubled.updates
    direct = Doubled(1.0)(_model(), _grads())
    chained = O.Chain(Doubled(1.0))(_model(), _grads())  # no recursion through super()
    for k in direct:
        np.testing.assert_allclose(chained[k], direct[k])
    np.testing.assert_allclose(direct["a"], 0.0)


def test_a_subclass_of_an_overrider_keeps_its_updates():
    class Again(Doubled):
        pass

    assert Again.updates is Doubled.updates

    class Own(Doubled):
        def updates(self, grads, params, extras):
            return {k: jnp.zeros_like(g) for k, g in grads.items()}

    # Its own updates: in a Chain, and in the base __call__ that Doubled's calls.
    np.testing.assert_allclose(O.Chain(Own(1.0))(_model(), _grads())["a"], 1.0)
    np.testing.assert_allclose(Own(1.0)(_model(), _grads())["a"], 1.0)
