"""``check_optimizer``: every property a flarejax optimizer promises, checked in one call."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, keystr, tree_flatten_with_path, tree_structure

from .._tree import ARRAY_TYPES, flat_keys, is_param
from ._compare import (
    ConformanceError,
    describe_change,
    first_difference,
    non_param_difference,
    reordered,
    snapshot,
)
from ._models import default_models, params_only, quadratic, rosenbrock, rosenbrock_model
from ._runner import Runner, extras_function

__all__ = ["PROPERTIES", "Report", "check_optimizer"]

PROPERTIES = (
    "structure",
    "non_params",
    "jit",
    "init",
    "compile_once",
    "hyperparameter",
    "leaf_order",
    "dtype",
    "none_grads",
    "state_dict",
    "to_optax",
    "reference",
    "convergence",
)
CONVERGENCE_STEPS = 300


class Report(dict):  # type: ignore[type-arg]
    """What ``check_optimizer`` checked: property name -> ``"passed ..."`` or ``"skipped: ..."``."""

    def __str__(self) -> str:
        width = max(map(len, self), default=0)
        return "\n".join(f"{name:<{width}}  {status}" for name, status in self.items())


def check_optimizer(
    make_opt: Callable[[], Any],
    *,
    models: Mapping[str, Any] | Iterable[Any] | None = None,
    reference: Any = None,
    steps: int = 50,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    extras: Any = None,
    convergence: bool = True,
    hyperparameter: str | None = None,
    skip: Mapping[str, str] | Iterable[str] = (),
) -> Report:
    r"""Check that an optimizer keeps every promise of a flarejax optimizer.

    ``make_opt`` is called once per run and must return a fresh optimizer each
    time. Each property below is checked in this order; the first that fails
    raises :class:`ConformanceError` (an ``AssertionError``) whose message starts
    with the property's name in brackets and names the parameter or state entry
    and the numbers. All runs follow the gradient of :func:`quadratic` (a fixed
    random quadratic per parameter key) from the model's values.

    ``structure``
        The returned model has the input's PyTree structure; the optimizer's
        structure after every step of a jitted run equals that after its first.
    ``non_params``
        Non-parameter leaves (integer and bool arrays, Python ints, strings)
        come back identical, eagerly and under ``jax.jit``.
    ``jit``
        ``steps`` eager steps and ``steps`` steps of a ``jax.jit``-ed training
        step give the same parameters and state (``rtol``, ``atol``).
    ``init``
        ``opt.init(model)`` then jitted steps give the same parameters and state
        as lazy building.
    ``compile_once``
        After ``init``, the jitted step is traced (compiled) exactly once over
        ``steps`` steps.
    ``hyperparameter``
        Changing a float hyperparameter (``hyperparameter=``, a dotted name such
        as ``"opts.1.learning_rate"``; by default the first weakly-typed float
        scalar named in ``__init__``, preferring ``learning_rate``) to half its
        value does not compile the step again.
    ``leaf_order``
        The optimizer's leaf order cannot depend on ``PYTHONHASHSEED``: a copy
        of it whose optimizers' attributes and whose dicts (``OrderedDict``
        included) were inserted in reverse order flattens to the same key paths
        in the same order, and unflatten-then-flatten gives the same paths. (No
        subprocess is started; this is what a different hash seed would change.)
    ``dtype``
        float32 parameters, bfloat16 parameters (and float64 parameters when
        ``jax_enable_x64`` is on) keep their dtype, eagerly and under
        ``jax.jit``; the optimizer holds no float64 array (weakly-typed scalars
        aside) unless the model has float64 parameters.
    ``none_grads``
        After ``init``, a ``None`` gradient leaves its parameter, and every state
        entry keyed by that parameter's key, bit-identical (eager and jitted).
    ``state_dict``
        ``state_dict`` after half the steps, ``load_state_dict`` into a fresh
        optimizer, then the remaining steps: the parameters and ``state_dict``
        are bit-identical to the uninterrupted run (the methods
        ``opt.state_dict()``/``opt.load_state_dict(d)`` when the class has them,
        else the functions of ``flarejax.optim``).
    ``to_optax``
        ``to_optax(make_opt())`` driven by optax gives the same parameters
        (``rtol``, ``atol``) over ``steps`` steps. Skipped when optax is missing.
    ``reference``
        With ``reference=``, the parameters agree with it over ``steps`` steps.
    ``convergence``
        With ``convergence=True``, 300 jitted steps lower :func:`quadratic` on
        the first model and :func:`rosenbrock` from ``(-1.2, 1)``, with the
        hyperparameters ``make_opt`` gives.

    Parameters
    ----------
    make_opt : callable
        A function of no arguments returning a new optimizer: a built-in, a
        :class:`~flarejax.optim.Chain`, a wrapper, or your own subclass.
    models : dict or iterable of PyTrees, optional
        The models to run on (default: :func:`default_models`). ``structure``,
        ``non_params``, ``jit``, ``init``, ``compile_once``, ``leaf_order`` and
        ``reference`` run on every model; the others on the first.
    reference : optax.GradientTransformation or callable, optional
        An optax transformation, or a function ``(params, grads, step) ->
        params`` (it may keep state in a closure). It sees the parameters only:
        the model with its non-parameter leaves replaced by ``None``.
        ``loss=`` among the extras reaches optax as ``value=``, ``loss_fn=`` as
        ``value_fn=`` (with ``grad=``), as ``optax.lbfgs`` expects.
    steps : int
        Steps of each comparison run.
    rtol, atol : float
        Tolerances of the ``jit``, ``init``, ``to_optax`` and ``reference``
        comparisons (``state_dict`` and ``none_grads`` are bit for bit).
    extras : dict or callable, optional
        Keyword arguments of every step, for optimizers that need them: a dict,
        or a function ``(model, step)`` or ``(model, step, loss_fn)`` returning a
        dict, where ``loss_fn(model)`` is the current objective (use
        :func:`loss_extras` for ``loss=``, :func:`linesearch_extras` for
        ``loss=`` and ``loss_fn=``). Array values are traced; other values
        (functions) must be the same objects at every step.
    convergence : bool
        Run the ``convergence`` property.
    hyperparameter : str, optional
        The float hyperparameter of the ``hyperparameter`` property.
    skip : dict or iterable of str
        Properties not to check; a dict maps each to the reason, shown in the
        report.

    Returns
    -------
    Report
        A dict from each property's name to ``"passed"`` (with details) or
        ``"skipped: <reason>"``.

    Raises
    ------
    ConformanceError
        For the first property that fails.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import flarejax as flr
    >>> from flarejax.testing import check_optimizer
    >>> class SignMomentum(flr.optim.Optimizer):
    ...     def __init__(self, learning_rate: float, beta: float = 0.9):
    ...         self.learning_rate = learning_rate
    ...         self.beta = beta
    ...         self.m = {}
    ...     def call_param(self, key, grad, **_):
    ...         if key not in self.m:
    ...             self.m[key] = jnp.zeros_like(grad)
    ...         self.m[key] = self.beta * self.m[key] + (1 - self.beta) * grad
    ...         return self.learning_rate * jnp.sign(self.m[key])
    >>> report = check_optimizer(lambda: SignMomentum(0.01), steps=10)
    >>> report["compile_once"]
    'passed'
    """
    skipped = _skips(skip)
    unknown = sorted(set(skipped) - set(PROPERTIES))
    if unknown:
        raise ValueError(f"unknown properties in skip: {unknown}; they are {list(PROPERTIES)}")
    if isinstance(models, Mapping):
        named = dict(models)
    elif models is None:
        named = default_models()
    else:
        named = {f"model {i}": m for i, m in enumerate(models)}
    if not named:
        raise ValueError("models is empty")
    if reference is None:
        skipped.setdefault("reference", "no reference given")
    if not convergence:
        skipped.setdefault("convergence", "convergence=False")
    c = _Check(make_opt, extras_function(extras), steps, rtol, atol, hyperparameter, skipped)
    c.run(named, reference)
    report = Report()
    for name in PROPERTIES:
        report[name] = f"skipped: {skipped[name]}" if name in skipped else c.passed.get(name, "passed")
    return report


def _skips(skip: Mapping[str, str] | Iterable[str]) -> dict[str, str]:
    if isinstance(skip, str):
        skip = [skip]
    if isinstance(skip, Mapping):
        return {str(k): str(v) for k, v in skip.items()}
    return {str(k): "skipped by the caller" for k in skip}


class _Check:
    def __init__(
        self,
        make_opt: Callable[[], Any],
        extras: Callable[..., dict[str, Any]],
        steps: int,
        rtol: float,
        atol: float,
        hyperparameter: str | None,
        skipped: dict[str, str],
    ) -> None:
        self.make = make_opt
        self.extras = extras
        self.steps = steps
        self.tol = {"rtol": rtol, "atol": atol}
        self.hp = hyperparameter
        self.skipped = skipped
        self.passed: dict[str, str] = {}

    def fresh(self) -> Any:
        from ..optim import Optimizer

        opt = self.make()
        if not isinstance(opt, Optimizer):
            raise TypeError(
                f"make_opt must return a flarejax Optimizer, got {type(opt).__name__}"
            )
        return opt

    def on(self, prop: str) -> bool:
        return prop not in self.skipped

    def fail(self, prop: str, message: str, key: str | None = None) -> None:
        raise ConformanceError(prop, message, key)

    # -- the runs ------------------------------------------------------------------

    def run(self, models: dict[str, Any], reference: Any) -> None:
        first = True
        for name, model in models.items():
            eager = self.eager_and_jit(name, model, first)
            if self.on("reference"):
                self.check_reference(name, model, reference, eager)
            if first:
                self.check_dtypes(name, model)
                if self.on("none_grads"):
                    self.check_none_grads(name, model)
                if self.on("to_optax"):
                    self.check_to_optax(name, model, eager)
            first = False
        if self.on("convergence"):
            self.check_convergence(next(iter(models.values())))

    def eager_and_jit(self, name: str, model: Any, first: bool) -> Any:
        where = f"model {name!r}"
        runner = Runner(quadratic, self.extras)
        # Eagerly, taking the state dict half-way on the first model.
        opt, m = self.fresh(), model
        half = self.steps // 2
        saved = None
        for i in range(self.steps):
            if first and i == half and self.on("state_dict"):
                saved = (_state_dict(opt), m)
            new = runner.step(opt, m, i, jit=False)[1]
            self.check_step_output(where + ", eager", i, m, new)
            m = new
        eager = (m, snapshot(opt), opt)
        self.check_param_dtypes(where + ", eager", model, m)

        # Jitted, lazily built state.
        opt, m = self.fresh(), model
        after_first = None
        for i in range(self.steps):
            opt, new = runner.step(opt, m, i, jit=True)
            self.check_step_output(where + ", jit", i, m, new)
            m = new
            if after_first is None:
                after_first = opt
            elif self.on("structure") and tree_structure(opt) != tree_structure(after_first):
                self.fail(
                    "structure",
                    f"{where}: the optimizer's PyTree structure changed at step {i + 1} "
                    f"(after the first step, it must stay fixed): "
                    f"{describe_change(after_first, opt)}",
                )
        lazy = (m, snapshot(opt))
        if self.on("jit"):
            self.compare("jit", f"{where}: eager and jax.jit", eager, lazy)
        if self.on("leaf_order"):
            self.check_leaf_order(where, opt)

        # init, then jitted: compiles once, same numbers as lazy building.
        if self.on("init") or self.on("compile_once") or self.on("hyperparameter"):
            # A runner of its own: a new jax.jit, whose cache the lazy run did not fill.
            runner = Runner(quadratic, self.extras)
            opt, m = self.fresh(), model
            runner.init(opt, model)
            built = opt
            traces = runner.traces
            for i in range(self.steps):
                opt, m = runner.step(opt, m, i, jit=True)
            if self.on("init"):
                self.compare("init", f"{where}: init then jax.jit, and lazy building,", lazy, (m, snapshot(opt)))
            n = runner.traces - traces
            if self.on("compile_once") and n != 1:
                hint = (
                    f"the optimizer's structure after init differs from that after a "
                    f"step: {describe_change(built, opt)}"
                    if tree_structure(built) != tree_structure(opt)
                    else "the structure is the same: an array changed shape, dtype or weak type"
                )
                self.fail(
                    "compile_once",
                    f"{where}: after init, the jitted step was traced {n} times in "
                    f"{self.steps} steps (expected once); {hint}",
                )
            if first and self.on("hyperparameter"):
                self.check_hyperparameter(where, runner, opt, m)
        if saved is not None:
            self.check_state_dict(where, saved, half, runner, eager)
        return eager

    def compare(self, prop: str, what: str, a: Any, b: Any) -> None:
        """Parameters, then state, of two runs ``(model, snapshot)``."""
        diff = first_difference(snapshot(a[0]), snapshot(b[0]), **self.tol)
        if diff is not None:
            self.fail(prop, f"{what} disagree at parameter {diff[0]!r}: {diff[1]}", diff[0])
        diff = first_difference(a[1], b[1], **self.tol)
        if diff is not None:
            self.fail(prop, f"{what} disagree at optimizer state {diff[0]!r}: {diff[1]}", diff[0])

    def check_step_output(self, where: str, i: int, before: Any, after: Any) -> None:
        if self.on("structure") and tree_structure(after) != tree_structure(before):
            self.fail(
                "structure",
                f"{where}: step {i + 1} returned a model of structure "
                f"{tree_structure(after)}, given {tree_structure(before)}",
            )
        if self.on("non_params"):
            diff = non_param_difference(before, after)
            if diff is not None:
                self.fail(
                    "non_params",
                    f"{where}: step {i + 1} changed the non-parameter leaf {diff[0]!r}: {diff[1]}",
                    diff[0],
                )

    # -- single properties ---------------------------------------------------------

    def check_hyperparameter(self, where: str, runner: Runner, opt: Any, model: Any) -> None:
        found = _find_hyperparameter(opt, self.hp)
        if found is None:
            self.skipped["hyperparameter"] = "no weakly-typed float hyperparameter found"
            return
        name, owner, attr = found
        old = owner.__dict__[attr]
        if isinstance(old, ARRAY_TYPES):
            new: Any = old * 0.5
        elif isinstance(old, int) and not isinstance(old, bool):
            new = old + 1
        else:
            new = old * 0.5
        setattr(owner, attr, new)
        traces = runner.traces
        runner.step(opt, model, self.steps, jit=True)
        if runner.traces != traces:
            static = (
                f" ({name} is a Python {type(old).__name__}: static, part of the compiled "
                "step; store it as a float)"
                if not isinstance(old, ARRAY_TYPES)
                else ""
            )
            self.fail(
                "hyperparameter",
                f"{where}: changing {name} from {_show(old)} to {_show(new)} compiled the "
                f"jitted step again{static}",
                name,
            )
        self.passed["hyperparameter"] = f"passed ({name})"

    def check_leaf_order(self, where: str, opt: Any) -> None:
        paths = [keystr(p) for p, _ in tree_flatten_with_path(opt)[0]]
        again = jax.tree_util.tree_unflatten(tree_structure(opt), jax.tree_util.tree_leaves(opt))
        if [keystr(p) for p, _ in tree_flatten_with_path(again)[0]] != paths:
            self.fail("leaf_order", f"{where}: unflatten then flatten changes the leaf order")
        other = [keystr(p) for p, _ in tree_flatten_with_path(reordered(opt))[0]]
        if other != paths:
            i = next(j for j, (a, b) in enumerate(zip(paths, other)) if a != b)
            self.fail(
                "leaf_order",
                f"{where}: the optimizer's leaf order depends on insertion order (leaf {i} "
                f"is {paths[i]} or {other[i]}), so on PYTHONHASHSEED where a container is "
                "filled from a set; use plain dicts (flattened in sorted key order)",
                paths[i],
            )

    def check_param_dtypes(self, where: str, before: Any, after: Any) -> None:
        if not self.on("dtype"):
            return
        kb, lb, _ = flat_keys(before)
        _, la, _ = flat_keys(after)
        for key, x, y in zip(kb, lb, la):
            if is_param(x) and (not is_param(y) or y.dtype != x.dtype):
                got = y.dtype if hasattr(y, "dtype") else type(y).__name__
                self.fail("dtype", f"{where}: parameter {key!r} changed dtype from {x.dtype} to {got}", key)

    def check_dtypes(self, name: str, model: Any) -> None:
        if not self.on("dtype"):
            return
        dtypes = [jnp.bfloat16] + ([jnp.float64] if jax.config.read("jax_enable_x64") else [])
        for dtype in dtypes:
            cast = _cast_params(model, dtype)
            runner = Runner(quadratic, self.extras)
            for jit in (False, True):
                opt, m = self.fresh(), cast
                for i in range(3):
                    opt, m = runner.step(opt, m, i, jit=jit)
                where = f"model {name!r} in {jnp.dtype(dtype).name}, {'jit' if jit else 'eager'}"
                self.check_param_dtypes(where, cast, m)
                self.check_no_float64(where, cast, opt)
        self.check_no_float64(f"model {name!r}", model, self.fresh_stepped(model))

    def fresh_stepped(self, model: Any) -> Any:
        opt = self.fresh()
        Runner(quadratic, self.extras).step(opt, model, 0, jit=False)
        return opt

    def check_no_float64(self, where: str, model: Any, opt: Any) -> None:
        if any(is_param(x) and x.dtype == jnp.float64 for x in jax.tree_util.tree_leaves(model)):
            return
        for path, leaf in tree_flatten_with_path(opt)[0]:
            if not isinstance(leaf, ARRAY_TYPES) or np.dtype(leaf.dtype) != np.float64:
                continue
            if isinstance(leaf, jax.Array) and leaf.ndim == 0 and jax.typeof(leaf).weak_type:
                continue  # a float hyperparameter under x64: weak, promotes nothing
            key = keystr(path, simple=True, separator=".")
            self.fail(
                "dtype",
                f"{where}: the optimizer holds a float64 array {key!r} (shape "
                f"{tuple(leaf.shape)}) for a model without float64 parameters",
                key,
            )

    def check_none_grads(self, name: str, model: Any) -> None:
        keys = [k for k, x in zip(*flat_keys(model)[:2]) if is_param(x)]
        frozen = frozenset(keys[1::2] or keys)
        runner = Runner(quadratic, self.extras)
        opt, m = self.fresh(), model
        runner.init(opt, model)
        before = _entries_for(opt, frozen)
        for i, jit in enumerate((False, False, True, True)):
            opt, m = runner.step(opt, m, i, jit=jit, frozen=frozen)
        where = f"model {name!r}"
        kb, lb, _ = flat_keys(model)
        la = flat_keys(m)[1]
        for key, x, y in zip(kb, lb, la):
            if key in frozen and not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True):
                diff = first_difference([(key, (np.asarray(x), False))], [(key, (np.asarray(y), False))])
                self.fail(
                    "none_grads",
                    f"{where}: parameter {key!r} has a None gradient but changed: "
                    f"{diff[1] if diff else ''}",
                    key,
                )
        after = _entries_for(opt, frozen)
        diff = first_difference(before, after)
        if diff is not None:
            self.fail(
                "none_grads",
                f"{where}: the optimizer's state for parameters with None gradients "
                f"changed at {diff[0]!r}: {diff[1]}",
                diff[0],
            )

    def check_state_dict(
        self, where: str, saved: tuple[Any, Any], half: int, runner: Runner, eager: Any
    ) -> None:
        d, m = saved
        opt = self.fresh()
        _load_state_dict(opt, d)
        for i in range(half, self.steps):
            m = runner.step(opt, m, i, jit=False)[1]
        what = f"{where}: state_dict at step {half}, load_state_dict, {self.steps - half} more steps"
        diff = first_difference(snapshot(eager[0]), snapshot(m))
        if diff is not None:
            self.fail(
                "state_dict",
                f"{what}: parameter {diff[0]!r} differs from the uninterrupted run: {diff[1]}",
                diff[0],
            )
        a, b = _state_dict(eager[2]), _state_dict(opt)
        diff = first_difference(_dict_snapshot(a), _dict_snapshot(b))
        if diff is not None:
            self.fail(
                "state_dict",
                f"{what}: state_dict entry {diff[0]!r} differs from the uninterrupted run: "
                f"{diff[1]}",
                diff[0],
            )

    def check_to_optax(self, name: str, model: Any, eager: Any) -> None:
        try:
            import optax
        except ImportError:
            self.skipped["to_optax"] = "optax is not installed"
            return
        from ..optim._optax import to_optax

        runner = Runner(quadratic, self.extras)
        tx = to_optax(self.fresh())
        p = params_only(model)
        state = tx.init(p)
        for i in range(self.steps):
            g = runner.grads(p)
            updates, state = tx.update(g, state, p, **runner.extras(p, i, runner.loss_fn))
            p = optax.apply_updates(p, updates)
        diff = first_difference(snapshot(params_only(eager[0])), snapshot(p), **self.tol)
        if diff is not None:
            self.fail(
                "to_optax",
                f"model {name!r}: to_optax and the optimizer itself disagree at parameter "
                f"{diff[0]!r} after {self.steps} steps: {diff[1]}",
                diff[0],
            )

    def check_reference(self, name: str, model: Any, reference: Any, eager: Any) -> None:
        runner = Runner(quadratic, self.extras)
        p = params_only(model)
        if callable(getattr(reference, "init", None)) and callable(getattr(reference, "update", None)):
            import optax

            tx = optax.with_extra_args_support(reference)
            state = tx.init(p)
            for i in range(self.steps):
                g = runner.grads(p)
                ex = runner.extras(p, i, runner.loss_fn)
                kw = {}
                if "loss" in ex:
                    kw["value"] = ex["loss"]
                if "loss_fn" in ex:
                    kw.update(value_fn=ex["loss_fn"], grad=g)
                updates, state = tx.update(g, state, p, **kw)
                p = optax.apply_updates(p, updates)
        elif callable(reference):
            for i in range(self.steps):
                p = reference(p, runner.grads(p), i)
        else:
            raise TypeError(
                "reference must be an optax GradientTransformation or a function "
                f"(params, grads, step) -> params, got {type(reference).__name__}"
            )
        diff = first_difference(snapshot(params_only(eager[0])), snapshot(p), **self.tol)
        if diff is not None:
            self.fail(
                "reference",
                f"model {name!r}: the optimizer and the reference disagree at parameter "
                f"{diff[0]!r} after {self.steps} steps (optimizer first): {diff[1]}",
                diff[0],
            )

    def check_convergence(self, model: Any) -> None:
        results = []
        for objective, start in ((quadratic, model), (rosenbrock, rosenbrock_model())):
            runner = Runner(objective, self.extras)
            opt, m = self.fresh(), start
            for i in range(CONVERGENCE_STEPS):
                opt, m = runner.step(opt, m, i, jit=True)
            first, last = float(runner.loss_fn(start)), float(runner.loss_fn(m))
            label = objective.__name__
            if not (np.isfinite(last) and last < first):
                self.fail(
                    "convergence",
                    f"{CONVERGENCE_STEPS} steps on {label} did not lower the loss: "
                    f"{first:.6g} -> {last:.6g}",
                )
            results.append(f"{label} {first:.3g} -> {last:.3g}")
        self.passed["convergence"] = f"passed ({'; '.join(results)})"


# -- helpers ---------------------------------------------------------------------------


def _state_dict(opt: Any) -> dict[str, Any]:
    method = getattr(type(opt), "state_dict", None)
    if callable(method):
        return dict(opt.state_dict())
    from ..optim._state_dict import state_dict

    return state_dict(opt)


def _load_state_dict(opt: Any, d: dict[str, Any]) -> None:
    method = getattr(type(opt), "load_state_dict", None)
    if callable(method):
        opt.load_state_dict(d)
        return
    from ..optim._state_dict import load_state_dict

    load_state_dict(opt, d)


def _dict_snapshot(d: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (k, (np.asarray(v), False) if isinstance(v, ARRAY_TYPES) else v) for k, v in sorted(d.items())
    ]


def _entries_for(opt: Any, keys: frozenset[str]) -> list[tuple[str, Any]]:
    """The state entries of ``opt`` stored in a dict under one of the parameter ``keys``."""
    paths = [p for p, _ in tree_flatten_with_path(opt)[0]]
    return [
        entry
        for p, entry in zip(paths, snapshot(opt))
        if any(isinstance(k, DictKey) and k.key in keys for k in p)
    ]


def _cast_params(model: Any, dtype: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: x.astype(dtype) if is_param(x) else x, model)


def _show(x: Any) -> str:
    if isinstance(x, ARRAY_TYPES):
        return f"{np.asarray(x).item():g}"
    return repr(x)


def _find_hyperparameter(opt: Any, name: str | None) -> tuple[str, Any, str] | None:
    """``(dotted name, owning optimizer, attribute)`` of the hyperparameter to change."""
    candidates = list(_hyperparameters(opt, ""))
    if name is not None:
        for full, owner, attr in candidates:
            if name in (full, attr):
                return full, owner, attr
        names = [full for full, _, _ in candidates]
        raise ValueError(f"hyperparameter={name!r} is not a hyperparameter of the optimizer: {names}")
    floats = [
        c
        for c in candidates
        if isinstance(c[1].__dict__[c[2]], jax.Array) and jax.typeof(c[1].__dict__[c[2]]).weak_type
    ]
    for c in floats:
        if c[2] in ("learning_rate", "lr", "step_size"):
            return c
    return floats[0] if floats else None


def _hyperparameters(opt: Any, prefix: str) -> Any:
    """Arguments of ``__init__`` stored as scalar numbers, in this optimizer and nested ones."""
    from ..optim import Optimizer

    params = inspect.signature(type(opt).__init__).parameters
    for attr in sorted(opt.__dict__):
        value = opt.__dict__[attr]
        if attr not in params:
            continue
        if isinstance(value, jax.Array) and value.ndim == 0 and jnp.issubdtype(value.dtype, jnp.floating):
            yield prefix + attr, opt, attr
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield prefix + attr, opt, attr
    found = tree_flatten_with_path(opt, is_leaf=lambda x: x is not opt and isinstance(x, Optimizer))
    for path, leaf in found[0]:
        if isinstance(leaf, Optimizer):
            yield from _hyperparameters(leaf, prefix + keystr(path, simple=True, separator=".") + ".")
