"""``check_optimizer``: every property a flarejax optimizer promises, checked in one call."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

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
from ._models import default_models, params_only, quadratic, rosenbrock, rosenbrock_start
from ._runner import Runner, extras_function

__all__ = ["PROPERTIES", "Report", "check_optimizer"]

PROPERTIES = (
    "structure",
    "non_params",
    "compile_once",
    "jit",
    "init",
    "leaf_order",
    "hyperparameter",
    "none_grads",
    "state_dict",
    "dtype",
    "to_optax",
    "reference",
    "convergence",
)
"""The names of the properties ``check_optimizer`` checks, in the order it checks them."""

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
    time. All runs follow the gradient of :func:`quadratic` (a fixed random
    quadratic per parameter key) from the model's values. The properties are
    checked in the order below (parameter dtypes, non-parameters and the
    model's structure at every step of every run); the first that fails raises
    :class:`ConformanceError`, an ``AssertionError`` whose message starts with
    the property's name in brackets and names the model, the parameter or state
    entry, and the numbers. An exception raised while checking a property is
    reported as that property's failure.

    ``structure``
        Every step returns a model of the input's PyTree structure, and in an
        eager run from lazily built state, the optimizer's structure after every
        step equals that after the first.
    ``non_params``
        Non-parameter leaves (integer and bool arrays, Python ints, strings)
        come back identical, eagerly and under ``jax.jit``.
    ``compile_once``
        After ``opt.init(model)``, a new ``jax.jit``-ed training step is traced
        (compiled) exactly once over ``steps`` steps: the state ``init`` builds
        has the structure, shapes, dtypes and weak types of the state a step
        returns, and they do not change from step to step.
    ``jit``
        ``steps`` eager steps from lazily built state, and ``steps`` jitted
        steps after ``init``, give the same parameters and state (``rtol``,
        ``atol``).
    ``init``
        When they differ, a third run (eager, after ``init``) says whether
        ``init`` differs from lazy building (it agrees with the jitted run) or
        eager from jit (it does not).
    ``leaf_order``
        The optimizer's leaf order cannot depend on ``PYTHONHASHSEED``: a copy
        of it whose optimizers' attributes and whose dicts (``OrderedDict``
        included) were inserted in reverse order flattens to the same key paths
        in the same order, and unflatten-then-flatten gives the same paths. (No
        subprocess is started; this is what a different hash seed would change.)
    ``hyperparameter``
        Changing a float hyperparameter to half its value does not compile the
        jitted step again (``hyperparameter=``, a dotted name such as
        ``"opts.1.learning_rate"``; by default the first weakly-typed float
        scalar stored under the name of an ``__init__`` argument, preferring
        ``learning_rate``; skipped when there is none). A hyperparameter named
        explicitly that is a Python ``int`` is changed by one, and fails: it is
        static.
    ``none_grads``
        With the state built, two jitted steps where every other parameter has
        a ``None`` gradient leave those parameters, and every state entry stored
        under their keys, bit-identical.
    ``state_dict``
        ``state_dict`` after half the steps of the jitted run,
        ``load_state_dict`` into a fresh optimizer, then the remaining steps:
        the parameters and ``state_dict`` are bit-identical to the uninterrupted
        run (the methods ``opt.state_dict()``/``opt.load_state_dict(d)`` when
        the class has them, else the functions of ``flarejax.optim``).
    ``dtype``
        Parameters keep their dtype (float32, and a bfloat16 copy of the first
        model; a float64 copy too when ``jax_enable_x64`` is on), eagerly and
        under ``jax.jit``; the optimizer holds no float64 array (weakly-typed
        scalars aside) unless the model has float64 parameters.
    ``to_optax``
        ``to_optax(make_opt())``, driven like an optax transformation, gives the
        same parameters as the optimizer itself (``rtol``, ``atol``) over
        ``steps`` steps. As optax transformations do, for a bfloat16 copy of the
        first model (one step), it returns updates in the gradients' dtype, and
        its state keeps the structure, shapes, dtypes and weak types ``init``
        gave it (``lax.cond`` over two states needs that). Skipped when optax is
        missing.
    ``reference``
        With ``reference=``, the parameters agree with it over ``steps`` steps.
    ``convergence``
        With ``convergence=True``, 300 jitted steps from ``init`` lower
        :func:`quadratic` from the first model and :func:`rosenbrock` from
        :func:`rosenbrock_start` of it, with the hyperparameters ``make_opt``
        gives.

    Parameters
    ----------
    make_opt : callable
        A function of no arguments returning a new optimizer: a built-in, a
        :class:`~flarejax.optim.Chain`, a wrapper, or your own subclass.
    models : dict or iterable of PyTrees, optional
        The models to run on (default: :func:`default_models`). ``structure``,
        ``non_params``, ``compile_once``, ``jit``, ``init``, ``leaf_order`` and
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
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    if reference is None:
        skipped.setdefault("reference", "no reference given")
    if not convergence:
        skipped.setdefault("convergence", "convergence=False")
    c = _Check(make_opt, extras_function(extras), steps, rtol, atol, hyperparameter, skipped)
    c.run(named, reference)
    report = Report()
    for name in PROPERTIES:
        report[name] = (
            f"skipped: {skipped[name]}" if name in skipped else c.passed.get(name, "passed")
        )
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
            raise TypeError(f"make_opt must return a flarejax Optimizer, got {type(opt).__name__}")
        return opt

    def on(self, prop: str) -> bool:
        return prop not in self.skipped

    def fail(self, prop: str, message: str, key: str | None = None) -> None:
        raise ConformanceError(prop, message, key)

    # -- the runs ------------------------------------------------------------------

    def run(self, models: dict[str, Any], reference: Any) -> None:
        runners = []
        for i, (name, model) in enumerate(models.items()):
            first = i == 0
            where = f"model {name!r}"
            # A jax.jit of its own per model: its trace count is what compile_once checks.
            runner = Runner(quadratic, self.extras)
            runners.append(runner)
            eager = self.eager_run(where, model, runner)
            with self.raising("jit", where + ", init then jax.jit"):
                jitted, saved, opt, m = self.jit_run(where, model, runner, first)
            with self.raising("init", where):
                self.check_jit_and_init(where, model, runner, eager, jitted)
            if self.on("leaf_order"):
                self.check_leaf_order(where, opt)
            if first:
                if self.on("hyperparameter"):
                    with self.raising("hyperparameter", where):
                        self.check_hyperparameter(where, runner, opt, m)
                if self.on("none_grads"):
                    with self.raising("none_grads", where):
                        self.check_none_grads(where, runner, opt, m)
                if saved is not None:
                    with self.raising("state_dict", where):
                        self.check_state_dict(where, saved, runner)
                if self.on("dtype"):
                    with self.raising("dtype", where):
                        self.check_dtypes(name, model, eager[2])
                if self.on("to_optax"):
                    with self.raising("to_optax", where):
                        self.check_to_optax(name, model, eager)
                    with self.raising("to_optax", where + " in bfloat16"):
                        self.check_to_optax_types(name, model)
            if self.on("reference"):
                with self.raising("reference", where):
                    self.check_reference(name, model, reference, eager)
        if self.on("convergence"):
            with self.raising("convergence", "the first model"):
                self.check_convergence(runners[0], next(iter(models.values())))

    @contextlib.contextmanager
    def raising(self, prop: str, where: str) -> Iterator[None]:
        """Report an exception raised while checking ``prop`` as a failure of ``prop``."""
        try:
            yield
        except ConformanceError:
            raise
        except Exception as e:
            raise ConformanceError(prop, f"{where}: raised {type(e).__name__}: {e}".rstrip()) from e

    def eager_run(self, where: str, model: Any, runner: Runner) -> tuple[Any, Any, Any]:
        """``steps`` eager steps, state built lazily; the structure settles after one."""
        opt, m = self.fresh(), model
        after_first = None
        for i in range(self.steps):
            new = runner.step(opt, m, i, jit=False)[1]
            self.check_step_output(where + ", eager", i, m, new)
            m = new
            if after_first is None:
                after_first = jax.tree_util.tree_structure(opt), _copy(opt)
            elif self.on("structure") and not _same(tree_structure(opt), after_first[0]):
                self.fail(
                    "structure",
                    f"{where}, eager: the optimizer's PyTree structure changed at step {i + 1} "
                    f"(after the first step, it must stay fixed): "
                    f"{describe_change(after_first[1], opt)}",
                )
        self.check_param_dtypes(where + ", eager", model, m)
        return m, snapshot(opt), opt

    def jit_run(
        self, where: str, model: Any, runner: Runner, first: bool
    ) -> tuple[tuple[Any, Any], Any, Any, Any]:
        """``init``, then ``steps`` steps of a jitted step: it compiles exactly once.

        Also the state dict half-way (first model), for ``check_state_dict``.
        """
        opt, m = self.fresh(), model
        runner.init(opt, model)
        built = _copy(opt)
        traces = runner.traces
        saved: tuple[Any, ...] | None = None
        for i in range(self.steps):
            if first and i == self.steps // 2 and self.on("state_dict"):
                saved = (i, _state_dict(opt), m)
            opt, new = runner.step(opt, m, i, jit=True)
            self.check_step_output(where + ", jit", i, m, new)
            m = new
            if i == 0 and self.on("compile_once"):
                diff = _signature_difference(built, opt)
                if diff is not None:
                    self.fail(
                        "compile_once",
                        f"{where}: the state init builds differs from the state a step "
                        f"returns at {diff[0]!r}: {diff[1]}; a jitted step compiles twice",
                        None if diff[0] == "<structure>" else diff[0],
                    )
        n = runner.traces - traces
        if self.on("compile_once") and n != 1:
            self.fail(
                "compile_once",
                f"{where}: after init, the jitted step was compiled {n} times in "
                f"{self.steps} steps (expected once): an array of the state or the model "
                "changes shape, dtype or weak type from step to step",
            )
        self.check_param_dtypes(where + ", jit", model, m)
        if saved is not None:
            saved = (*saved, m, _state_dict(opt))
        return (m, snapshot(opt)), saved, opt, m

    def check_jit_and_init(
        self, where: str, model: Any, runner: Runner, eager: Any, jitted: Any
    ) -> None:
        """Eager lazy building and init-then-jit agree; if not, tell which differs.

        A third run, eager after ``init``, decides: if it agrees with the jitted
        run, ``init`` differs from lazy building; otherwise eager and jit differ.
        """
        if not (self.on("jit") or self.on("init")):
            return
        diff = self.difference(eager, jitted)
        if diff is None:
            return
        opt, m = self.fresh(), model
        runner.init(opt, model)
        for i in range(self.steps):
            m = runner.step(opt, m, i, jit=False)[1]
        if self.on("init") and self.difference((m, snapshot(opt)), jitted) is None:
            self.fail(
                "init",
                f"{where}: init then jax.jit, and lazy building (eager), disagree at "
                f"{diff[0]}; eager after init agrees with jax.jit after init",
                diff[1],
            )
        if self.on("jit"):
            self.fail("jit", f"{where}: eager and jax.jit disagree at {diff[0]}", diff[1])
        self.fail(
            "init", f"{where}: init then jax.jit, and lazy building, disagree at {diff[0]}", diff[1]
        )

    def difference(self, a: Any, b: Any) -> tuple[str, str] | None:
        """``(message, key)`` of the first parameter, then state, where runs differ."""
        diff = first_difference(snapshot(a[0]), snapshot(b[0]), **self.tol)
        if diff is not None:
            return f"parameter {diff[0]!r} after {self.steps} steps: {diff[1]}", diff[0]
        diff = first_difference(a[1], b[1], **self.tol)
        if diff is not None:
            return f"optimizer state {diff[0]!r} after {self.steps} steps: {diff[1]}", diff[0]
        return None

    def check_step_output(self, where: str, i: int, before: Any, after: Any) -> None:
        if self.on("structure") and not _same(tree_structure(after), tree_structure(before)):
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
        old: Any = owner.__dict__[attr]
        if isinstance(old, ARRAY_TYPES):
            new: Any = cast(Any, old) * 0.5
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
                self.fail(
                    "dtype",
                    f"{where}: parameter {key!r} changed dtype from {x.dtype} to {got}",
                    key,
                )

    def check_dtypes(self, name: str, model: Any, eager_opt: Any) -> None:
        """bfloat16 (and float64 under x64) copies of the model, a jitted step each."""
        self.check_no_float64(f"model {name!r}, eager", model, eager_opt)
        dtypes = [jnp.bfloat16] + ([jnp.float64] if jax.config.read("jax_enable_x64") else [])
        for dtype in dtypes:
            cast = _cast_params(model, dtype)
            runner = Runner(quadratic, self.extras)
            opt, m = runner.step(self.fresh(), cast, 0, jit=True)
            where = f"model {name!r} in {jnp.dtype(dtype).name}, jit"
            self.check_param_dtypes(where, cast, m)
            self.check_no_float64(where, cast, opt)

    def check_no_float64(self, where: str, model: Any, opt: Any) -> None:
        if any(is_param(x) and x.dtype == jnp.float64 for x in jax.tree_util.tree_leaves(model)):
            return
        for path, leaf in tree_flatten_with_path(opt)[0]:
            if not isinstance(leaf, ARRAY_TYPES) or leaf.dtype != np.float64:
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

    def check_none_grads(self, where: str, runner: Runner, opt: Any, model: Any) -> None:
        """Two jitted steps with ``None`` for every other parameter, from built state."""
        if jax.tree_util.treedef_is_leaf(tree_structure(model)):
            # A bare array's only gradient would be a bare None: opt(model, None),
            # which is an error (a step that changes nothing), not a frozen parameter;
            # the other models check the property.
            return
        keys = [k for k, x in zip(*flat_keys(model)[:2]) if is_param(x)]
        frozen = frozenset(keys[1::2] or keys)
        before = _entries_for(opt, frozen)
        m = model
        for i in range(2):
            opt, m = runner.step(opt, m, self.steps + 1 + i, jit=True, frozen=frozen)
        old, new = snapshot(model), snapshot(m)
        for (key, x), (_, y) in zip(old, new):
            if key in frozen:
                diff = first_difference([(key, x)], [(key, y)])
                if diff is not None:
                    self.fail(
                        "none_grads",
                        f"{where}: parameter {key!r} has a None gradient but changed: {diff[1]}",
                        key,
                    )
        diff = first_difference(before, _entries_for(opt, frozen))
        if diff is not None:
            self.fail(
                "none_grads",
                f"{where}: the optimizer's state for parameters with None gradients "
                f"changed at {diff[0]!r}: {diff[1]}",
                diff[0],
            )

    def check_state_dict(self, where: str, saved: tuple[Any, ...], runner: Runner) -> None:
        """Load the half-way state dict into a fresh optimizer and finish the jitted run."""
        half, d, m, final_model, final_d = saved
        opt = self.fresh()
        _load_state_dict(opt, d)
        for i in range(half, self.steps):
            opt, m = runner.step(opt, m, i, jit=True)
        what = (
            f"{where}: state_dict at step {half}, load_state_dict into a fresh optimizer, "
            f"{self.steps - half} more jitted steps"
        )
        diff = first_difference(snapshot(final_model), snapshot(m))
        if diff is not None:
            self.fail(
                "state_dict",
                f"{what}: parameter {diff[0]!r} differs from the uninterrupted run: {diff[1]}",
                diff[0],
            )
        diff = first_difference(_dict_snapshot(final_d), _dict_snapshot(_state_dict(opt)))
        if diff is not None:
            self.fail(
                "state_dict",
                f"{what}: state_dict entry {diff[0]!r} differs from the uninterrupted run: "
                f"{diff[1]}",
                diff[0],
            )

    def check_to_optax(self, name: str, model: Any, eager: Any) -> None:
        try:
            import optax  # noqa: F401
        except ImportError:
            self.skipped["to_optax"] = "optax is not installed"
            return
        from ..optim._interop._optax import to_optax

        runner = Runner(quadratic, self.extras)
        tx = to_optax(self.fresh())
        m = model
        state = tx.init(m)
        for i in range(self.steps):
            updates, state = tx.update(
                runner.grads(m), state, m, **runner.extras(m, i, runner.loss_fn)
            )
            m = _apply_updates(m, updates)
        diff = first_difference(snapshot(eager[0]), snapshot(m), **self.tol)
        if diff is not None:
            self.fail(
                "to_optax",
                f"model {name!r}: to_optax and the optimizer itself disagree at parameter "
                f"{diff[0]!r} after {self.steps} steps: {diff[1]}",
                diff[0],
            )

    def check_to_optax_types(self, name: str, model: Any) -> None:
        """One bridged step on bfloat16: updates in the gradients' dtype, state type kept."""
        if not self.on("to_optax"):  # optax is missing
            return
        from ..optim._interop._optax import to_optax

        runner = Runner(quadratic, self.extras)
        m = _cast_params(model, jnp.bfloat16)
        tx = to_optax(self.fresh())
        state = tx.init(m)
        grads = runner.grads(m)
        updates, new = tx.update(grads, state, m, **runner.extras(m, 0, runner.loss_fn))
        where = f"model {name!r} in bfloat16: to_optax's update"
        g_keys, g_leaves, _ = flat_keys(grads)
        u_by_key = dict(zip(*flat_keys(updates)[:2]))
        for key, g in zip(g_keys, g_leaves):
            u = u_by_key.get(key)
            if isinstance(g, ARRAY_TYPES) and isinstance(u, ARRAY_TYPES) and u.dtype != g.dtype:
                self.fail(
                    "to_optax",
                    f"{where} returned a {u.dtype} update for the {g.dtype} gradient of "
                    f"{key!r} (optax returns updates in the gradients' dtype)",
                    key,
                )
        diff = _signature_difference(state, new)
        if diff is not None:
            self.fail(
                "to_optax",
                f"{where} changed the state init built at {diff[0]!r}: "
                f"{diff[1].replace('after a step', 'after update')}; lax.cond over "
                "the two states fails",
                None if diff[0] == "<structure>" else diff[0],
            )

    def check_reference(self, name: str, model: Any, reference: Any, eager: Any) -> None:
        runner = Runner(quadratic, self.extras)
        p = params_only(model)
        if callable(getattr(reference, "init", None)) and callable(
            getattr(reference, "update", None)
        ):
            import optax

            tx = optax.with_extra_args_support(reference)
            state = tx.init(p)
            value_fn = None

            def step(p: Any, state: Any, g: Any, value: Any) -> tuple[Any, Any]:
                kw: dict[str, Any] = {} if value is None else {"value": value}
                if value_fn is not None:
                    kw.update(value_fn=value_fn, grad=g)
                updates, state = tx.update(g, state, p, **kw)
                return optax.apply_updates(p, updates), state

            # Compiled once where it can be: the reference's own eager steps would
            # dominate the check's time. A reference that branches in Python on its
            # (injected) hyperparameters runs eagerly.
            compiled: Callable[..., tuple[Any, Any]] = jax.jit(step)

            def run(*args: Any) -> tuple[Any, Any]:
                nonlocal compiled
                if compiled is not step:
                    try:
                        return compiled(*args)
                    except _NOT_JITTABLE:
                        compiled = step
                return step(*args)

            for i in range(self.steps):
                g = runner.grads(p)
                ex = runner.extras(p, i, runner.loss_fn)
                if "loss_fn" in ex and value_fn is None:
                    value_fn = ex["loss_fn"]  # the same function every step
                p, state = run(p, state, g, ex.get("loss"))
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

    def check_convergence(self, runner: Runner, model: Any) -> None:
        """300 jitted steps on each objective, from init, on the first model's structure.

        Its runner has compiled those steps already: the objective only changes
        the gradients and extras passed in.
        """
        results = []
        for run, start in ((runner, model), (runner.on(rosenbrock), rosenbrock_start(model))):
            opt, m = self.fresh(), start
            run.init(opt, start)
            for i in range(CONVERGENCE_STEPS):
                opt, m = run.step(opt, m, i, jit=True)
            first, last = float(run.loss_fn(start)), float(run.loss_fn(m))
            label = run.objective.__name__
            if not (np.isfinite(last) and last < first):
                self.fail(
                    "convergence",
                    f"{CONVERGENCE_STEPS} jitted steps on {label} did not lower the loss: "
                    f"{first:.6g} -> {last:.6g}",
                )
            results.append(f"{label} {first:.3g} -> {last:.3g}")
        self.passed["convergence"] = f"passed ({'; '.join(results)})"


# -- helpers ---------------------------------------------------------------------------


_NOT_JITTABLE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)


def _state_dict(opt: Any) -> dict[str, Any]:
    method = getattr(type(opt), "state_dict", None)
    if callable(method):
        return dict(opt.state_dict())
    from ..optim._interop._state_dict import state_dict

    return state_dict(opt)


def _load_state_dict(opt: Any, d: dict[str, Any]) -> None:
    method = getattr(type(opt), "load_state_dict", None)
    if callable(method):
        opt.load_state_dict(d)
        return
    from ..optim._interop._state_dict import load_state_dict

    load_state_dict(opt, d)


def _dict_snapshot(d: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (k, (np.asarray(v), False) if isinstance(v, ARRAY_TYPES) else v)
        for k, v in sorted(d.items())
    ]


def _entries_for(opt: Any, keys: frozenset[str]) -> list[tuple[str, Any]]:
    """The state entries of ``opt`` stored in a dict under one of the parameter ``keys``."""
    paths = [p for p, _ in tree_flatten_with_path(opt)[0]]
    return [
        entry
        for p, entry in zip(paths, snapshot(opt))
        if any(isinstance(k, DictKey) and k.key in keys for k in p)
    ]


def _apply_updates(model: Any, updates: Any) -> Any:
    """``optax.apply_updates`` for a whole model: non-parameters (``None`` updates) kept."""
    keys, leaves, treedef = flat_keys(model)
    u_paths = tree_flatten_with_path(updates, is_leaf=lambda x: x is None)[0]
    by_key = {keystr(p, simple=True, separator="."): u for p, u in u_paths}
    new = []
    for key, x in zip(keys, leaves):
        u = by_key.get(key)
        new.append(x if u is None else jnp.asarray(x + u).astype(x.dtype))
    return jax.tree_util.tree_unflatten(treedef, new)


def _copy(tree: Any) -> Any:
    """A copy with its own buffers: an eager step donates the arrays of its optimizer."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return jax.tree_util.tree_unflatten(
        treedef, [jnp.array(x, copy=True) if isinstance(x, jax.Array) else x for x in leaves]
    )


def _signature(tree: Any) -> list[tuple[str, Any]]:
    out = []
    for path, leaf in tree_flatten_with_path(tree)[0]:
        key = keystr(path, simple=True, separator=".")
        if isinstance(leaf, ARRAY_TYPES):
            weak = isinstance(leaf, jax.Array) and jax.typeof(leaf).weak_type
            sig = f"{leaf.dtype}{list(leaf.shape)}{' (weak)' if weak else ''}"
            out.append((key, sig))
        else:
            out.append((key, f"a Python {type(leaf).__name__}"))
    return out


def _same(a: Any, b: Any) -> bool:
    return bool(a == b)


def _signature_difference(a: Any, b: Any) -> tuple[str, str] | None:
    if not _same(tree_structure(a), tree_structure(b)):
        return "<structure>", describe_change(a, b)
    for (key, x), (_, y) in zip(_signature(a), _signature(b)):
        if x != y:
            return key, f"{x} after init, {y} after a step"
    return None


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
        raise ValueError(
            f"hyperparameter={name!r} is not a hyperparameter of the optimizer: {names}"
        )
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
        if (
            isinstance(value, jax.Array)
            and value.ndim == 0
            and jnp.issubdtype(value.dtype, jnp.floating)
        ) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            yield prefix + attr, opt, attr
    found = tree_flatten_with_path(opt, is_leaf=lambda x: x is not opt and isinstance(x, Optimizer))
    for path, leaf in found[0]:
        if isinstance(leaf, Optimizer):
            yield from _hyperparameters(
                leaf, prefix + keystr(path, simple=True, separator=".") + "."
            )
