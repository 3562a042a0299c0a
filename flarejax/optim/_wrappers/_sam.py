"""SAM: sharpness-aware minimization, an adversarial step up before each step down."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ..._core.init import building, optimizers_in
from .._base import Optimizer, keep_type
from .._loss_fn import minimize_with_loss_fn, of_params, one_of, zero_loss
from .._substep import substep

__all__ = ["SAM"]


class _Snapshot:
    """An optimizer's attributes at one moment, nested optimizers and dicts copied."""

    def __init__(self, opt: Optimizer) -> None:
        self.attrs = {name: _snapshot(v) for name, v in opt.__dict__.items()}


def _snapshot(value: Any) -> Any:
    if isinstance(value, Optimizer):
        return _Snapshot(value)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_snapshot(v) for v in value)
    return value


def _restore(opt: Optimizer, snap: _Snapshot, cond: Any) -> None:
    """Where ``cond``, set ``opt``'s state to ``snap``'s, in place.

    In place (the same optimizer objects and dicts, written key by key), because
    ``init`` follows the nested optimizers and their state dicts through a step.
    """
    for name, saved in snap.attrs.items():
        current = opt.__dict__.get(name)
        new = _blend(current, saved, cond)
        if new is not current:
            object.__setattr__(opt, name, new)


def _blend(current: Any, saved: Any, cond: Any) -> Any:
    if isinstance(saved, _Snapshot) and isinstance(current, Optimizer):
        _restore(current, saved, cond)
        return current
    if isinstance(saved, dict) and isinstance(current, dict):
        for k, v in saved.items():
            old = current.get(k)
            new = v if old is None else _blend(old, v, cond)
            if new is not old:
                current[k] = new
        return current
    if type(saved) in (list, tuple) and type(current) is type(saved):
        items = [_blend(c, v, cond) for c, v in zip(current, saved)]
        return current if all(a is b for a, b in zip(items, current)) else type(current)(items)
    if isinstance(saved, jax.Array) and isinstance(current, jax.Array):
        if jnp.issubdtype(saved.dtype, jax.dtypes.prng_key):
            data = jnp.where(cond, jax.random.key_data(saved), jax.random.key_data(current))
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(current))
        return keep_type(jnp.where(cond, saved, current), current)
    return current


class SAM(Optimizer):
    r"""SAM: take the outer optimizer's step with the gradient at an adversarial point.

    With the adversarial optimizer's update :math:`a(\cdot)` (e.g. :math:`\rho\,
    g / \lVert g \rVert`, *added*: it climbs) and the outer optimizer's update
    :math:`\mathrm{opt}(\cdot)`, one SAM step (``sync_period`` :math:`= k = 2`)
    from :math:`\theta` is

    .. math::

        \tilde\theta &= \theta + a(\nabla f(\theta)) \\
        \theta &\leftarrow \theta - \mathrm{opt}(\nabla f(\tilde\theta))

    (with :math:`k > 2`, :math:`k - 1` adversarial steps climb from
    :math:`\tilde\theta` before the outer step). The paper's SAM takes a
    normalized SGD step up (optax's docs: ``optax.chain(optax.contrib.normalize(),
    optax.sgd(rho))``):

    .. code-block:: python

        up = flr.optim.Chain(flr.optim.NormalizeByUpdateNorm(eps=0.0), flr.optim.SGD(0.05))
        opt = flr.optim.SAM(flr.optim.SGD(0.01), up, opaque_mode=True)

    **Both gradients in one call** (``opaque_mode=True``): ``opt.minimize``
    evaluates them, and under :func:`jax.jit` the step takes ``loss_fn=``, a
    function of the model returning the loss, to evaluate the next ones:

    .. code-block:: python

        model, loss = opt.minimize(loss_fn, model, x, y)  # eagerly: both gradients

        @jax.jit
        def train_step(opt, model, x, y):
            objective = lambda m: loss_fn(m, x, y)
            loss, grads = jax.value_and_grad(objective)(model)
            return opt, opt(model, grads, loss_fn=objective), loss

    **One gradient per call** (``opaque_mode=False``, optax's default): the
    calls alternate between the adversarial steps and the outer one, and the
    model between the adversarial and the true parameters (the true ones are
    kept in ``cache``); ``minimize`` still takes a whole SAM step (``k``
    calls). Use the other mode when the forward pass has side effects (batch
    statistics).

    With ``reset_state`` the adversarial optimizer's state is rebuilt after
    every outer step. Equal to ``optax.contrib.sam`` in both modes (driven as
    optax's docs drive it: ``grad_fn=`` in opaque mode); torch.optim has no SAM.

    Parameters
    ----------
    optimizer : Optimizer
        The outer optimizer: its update is applied to the true parameters.
    adv_optimizer : Optimizer
        The adversarial optimizer: its update is *added* to the parameters.
    sync_period : int
        :math:`k`: :math:`k - 1` adversarial steps, then one outer step.
    reset_state : bool
        Rebuild the adversarial optimizer's state after every outer step.
    opaque_mode : bool
        Take all :math:`k` gradients in one call (``loss_fn=`` needed).
    batch_axis_name : str, optional
        In opaque mode, average the adversarial gradients over this named axis
        (``jax.lax.pmean``, under ``pmap`` or ``shard_map``).

    References
    ----------
    Foret, Kleiner, Mobahi & Neyshabur, "Sharpness-Aware Minimization for
    Efficiently Improving Generalization", ICLR 2021 (arXiv:2010.01412).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        adv_optimizer: Optimizer,
        sync_period: int = 2,
        reset_state: bool = True,
        opaque_mode: bool = False,
        batch_axis_name: str | None = None,
    ) -> None:
        if isinstance(sync_period, bool) or not isinstance(sync_period, int) or sync_period < 1:
            raise ValueError(f"sync_period must be an int >= 1, got {sync_period!r}")
        self.optimizer = optimizer
        self.adv_optimizer = adv_optimizer
        self.sync_period = sync_period
        self.reset_state = bool(reset_state)
        self.opaque_mode = bool(opaque_mode)
        self.batch_axis_name = batch_axis_name
        # The adversarial optimizer as given: its state after init is the reset state.
        self.adv_initial = copy.copy(adv_optimizer)
        self.steps_since_sync = jnp.zeros((), jnp.int32)
        self.cache: dict[str, jax.Array] = {}

    def __call__(
        self, model: Any, grads: Any, *, loss_fn: Any = None, value_fn: Any = None, **extras: Any
    ) -> Any:
        """One call: a whole SAM step (opaque mode, ``loss_fn=`` needed) or one of its halves.

        ``loss_fn(model) -> loss`` evaluates the adversarial gradients;
        ``value_fn=`` is accepted for it.
        """
        loss_fn = one_of(loss_fn, value_fn, "SAM got both loss_fn= and value_fn=: pass one of them")
        if self.opaque_mode and loss_fn is not None:
            extras["value_fn"] = of_params(loss_fn, model)
        return super().__call__(model, grads, **extras)

    def minimize(
        self,
        loss_fn: Callable[..., Any],
        model: Any,
        *args: Any,
        has_aux: bool = False,
        **extras: Any,
    ) -> tuple[Any, Any]:
        """A whole SAM step on ``loss_fn(model, *args)``: ``model, loss = opt.minimize(...)``.

        Returns the loss (and aux) at the model passed in. In opaque mode one
        call evaluates all ``sync_period`` gradients; otherwise it makes
        ``sync_period`` calls, one gradient each.
        """
        model, value, value_of = minimize_with_loss_fn(self, loss_fn, model, args, has_aux, extras)
        if not self.opaque_mode:
            for _ in range(self.sync_period - 1):
                loss_i, grads_i = jax.value_and_grad(value_of)(model)
                model = self(model, grads_i, loss=loss_i, **extras)
        return model, value

    def init(self, model: Any, **extras: Any) -> None:
        """Build the state ahead of the first step; ``loss_fn`` is not needed."""
        # The state does not depend on the loss: a placeholder lets the step be traced.
        if self.opaque_mode:
            extras.setdefault("loss_fn", zero_loss)
        super().init(model, **extras)

    def call_model(
        self,
        grads: dict[str, jax.Array],
        *,
        params: dict[str, jax.Array],
        value_fn: Any = None,
        **extras: Any,
    ) -> dict[str, jax.Array | None]:
        if self.opaque_mode:
            return self._opaque(grads, params, value_fn, extras)
        return self._transparent(grads, params, extras)

    def _fresh_adversary(self, params: dict[str, jax.Array]) -> Optimizer:
        fresh = copy.copy(self.adv_initial)
        for o in optimizers_in(fresh):
            for name, value in list(o.__dict__.items()):
                if isinstance(value, dict) and type(value) is not dict:
                    # A dict that an enclosing init is recording: this copy's is its own.
                    object.__setattr__(o, name, dict(value))
        fresh.init(params)
        return fresh

    def _build(self, params: dict[str, jax.Array]) -> None:
        for key, p in params.items():
            if key not in self.cache:
                self.cache[key] = p
        # Built now, so that the state before a step can be picked against the one after
        # (within opt.init, the step builds them and init keeps what was built first).
        if not building():
            self.optimizer.init(params)
            self.adv_optimizer.init(params)

    def _transparent(
        self, grads: dict[str, jax.Array], params: dict[str, jax.Array], extras: dict[str, Any]
    ) -> dict[str, jax.Array | None]:
        self._build(params)
        first = self.steps_since_sync == 0
        last = self.steps_since_sync == self.sync_period - 1
        cache = {key: self.cache[key] for key in grads}
        old_opt, old_adv = _Snapshot(self.optimizer), _Snapshot(self.adv_optimizer)
        adv = substep(self.adv_optimizer, grads, params, extras)
        outer = substep(self.optimizer, grads, cache, extras)
        out: dict[str, jax.Array | None] = {}
        for key in grads:
            a, o = adv[key], outer[key]
            if a is None and o is None:
                out[key] = None
            else:
                # No update from one of them counts as a zero one.
                up = -a if a is not None else jnp.zeros_like(params[key])  # it climbs
                down = params[key] - cache[key] + (o if o is not None else 0)
                out[key] = jnp.where(last, down, up)
            self.cache[key] = jnp.where(first, params[key], cache[key])
        # After an outer step the adversary starts again (or where it was before this
        # call); the outer optimizer moves on only at an outer step.
        if self.reset_state:
            old_adv = _Snapshot(self._fresh_adversary(params))
        _restore(self.adv_optimizer, old_adv, last)
        _restore(self.optimizer, old_opt, ~last)
        self.steps_since_sync = (self.steps_since_sync + 1) % self.sync_period
        return out

    def _opaque(
        self,
        grads: dict[str, jax.Array],
        params: dict[str, jax.Array],
        value_fn: Any,
        extras: dict[str, Any],
    ) -> dict[str, jax.Array | None]:
        if value_fn is None:
            raise ValueError(
                "SAM with opaque_mode=True needs loss_fn= (a function mapping the model to "
                "the loss) to evaluate the adversarial gradients: call "
                "opt(model, grads, loss_fn=loss_fn) or opt.minimize(loss_fn, model, ...)"
            )
        adv_params, adv_grads = dict(params), dict(grads)
        for _ in range(self.sync_period - 1):
            up = substep(self.adv_optimizer, adv_grads, adv_params, extras)
            adv_params = {
                k: p if (u := up.get(k)) is None else p + u for k, p in adv_params.items()
            }
            adv_grads = jax.grad(value_fn)(adv_params)
            if self.batch_axis_name is not None:
                adv_grads = jax.lax.pmean(adv_grads, axis_name=self.batch_axis_name)
            adv_grads = {k: g.astype(params[k].dtype) for k, g in adv_grads.items()}
        if self.reset_state:
            _restore(self.adv_optimizer, _Snapshot(self._fresh_adversary(params)), True)
        self.steps_since_sync = jnp.zeros((), jnp.int32)
        return substep(self.optimizer, adv_grads, params, extras)

    def call_param(self, key: str, grad: jax.Array, **_: Any) -> jax.Array:
        return grad
