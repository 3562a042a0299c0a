"""Run the code of the documentation pages, and check the tutorials' optimizers.

Every ``.. testcode::``, ``.. testsetup::`` and ``.. doctest::`` block, and every
bare ``>>>`` block, of a page under ``docs/`` (the API pages aside) runs in order
in one namespace per page, as ``sphinx-build -b doctest`` runs them. A block that
raises fails the page; so does a ``.. testoutput::`` block (or a ``>>>`` example's
shown output) that differs from what the code printed, compared with
``doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE``. ``.. code-block::`` content is
never run: the guides use it for API that is not executed.
"""

from __future__ import annotations

import contextlib
import doctest
import functools
import io
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flarejax as flr

DOCS = Path(__file__).resolve().parents[2] / "docs"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
PAGES = sorted(
    p.relative_to(DOCS).as_posix()
    for p in DOCS.rglob("*.rst")
    if "_build" not in p.parts and p.parts[len(DOCS.parts)] != "api"
)

_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::(.*)$")
_RUN = {"testcode", "testsetup", "testcleanup", "doctest"}


@dataclass
class Block:
    kind: str  # testcode, testsetup, testcleanup, testoutput, doctest (also bare >>>)
    line: int  # 1-based line of the block's first content line
    text: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse(text: str) -> list[Block]:
    """The executable blocks of an rst page, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _DIRECTIVE.match(line)
        if m:
            base, name = len(m.group(1)), m.group(2)
            i += 1
            # Options (":hide:", ":options: ...") come first, then the content.
            while i < len(lines) and lines[i].strip().startswith(":") and lines[i].strip():
                i += 1
            body: list[tuple[int, str]] = []
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                body.append((i, lines[i]))
                i += 1
            while body and not body[-1][1].strip():
                body.pop()
            while body and not body[0][1].strip():
                body.pop(0)
            if name in _RUN or name == "testoutput":
                if body:
                    width = min(_indent(s) for _, s in body if s.strip())
                    content = "\n".join(s[width:] for _, s in body)
                    blocks.append(Block(name, body[0][0] + 1, content + "\n"))
            elif name not in ("code-block", "code", "sourcecode", "math", "parsed-literal"):
                # Other directives (notes, admonitions) may hold doctest blocks.
                blocks.extend(
                    Block(b.kind, b.line + body[0][0], b.text)
                    for b in (parse("\n".join(s for _, s in body)) if body else [])
                )
            continue
        if line.lstrip().startswith(">>>"):
            start, width = i, _indent(line)
            chunk = []
            while i < len(lines) and lines[i].strip():
                chunk.append(lines[i][width:])
                i += 1
            blocks.append(Block("doctest", start + 1, "\n".join(chunk) + "\n"))
            continue
        i += 1
    return blocks


@dataclass
class PageRun:
    namespace: dict[str, Any]
    failures: list[str]


@functools.cache
def run_page(page: str) -> PageRun:
    """Execute the blocks of ``docs/<page>``; the namespace and the failures."""
    path = DOCS / page
    ns: dict[str, Any] = {"__name__": f"docs.{page}"}
    failures: list[str] = []
    checker = doctest.OutputChecker()
    blocks = parse(path.read_text())
    last_output: str | None = None
    for block in blocks:
        where = f"{page}:{block.line}"
        if block.kind == "testoutput":
            if last_output is None:
                failures.append(f"{where}: testoutput without a testcode before it")
            elif not checker.check_output(block.text, last_output, FLAGS):
                failures.append(
                    f"{where}: output differs\n--- expected\n{block.text}--- got\n{last_output}"
                )
            last_output = None
            continue
        last_output = None
        if block.kind == "doctest":
            test = doctest.DocTestParser().get_doctest(
                block.text, ns, where, str(path), block.line - 1
            )
            report = io.StringIO()
            runner = doctest.DocTestRunner(optionflags=FLAGS)
            result = runner.run(test, out=report.write, clear_globs=False)
            ns.update(test.globs)
            if result.failed:
                failures.append(f"{where}: doctest failed\n{report.getvalue()}")
            continue
        # Pad with newlines so that tracebacks give the page's own line numbers.
        # dont_inherit: the page runs without this module's __future__ imports, as
        # sphinx runs it (postponed annotations would break dataclasses defined there).
        code = compile("\n" * (block.line - 1) + block.text, str(path), "exec", dont_inherit=True)
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, ns)
        except Exception:
            failures.append(f"{where}: {block.kind} raised\n{traceback.format_exc()}")
        last_output = out.getvalue()
    if not any(b.kind != "testoutput" for b in blocks):
        failures.append(f"{page}: no executable block found")
    return PageRun(ns, failures)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page: str) -> None:
    run = run_page(page)
    assert not run.failures, "\n\n".join(run.failures)


def test_tutorials_and_guides_are_found() -> None:
    for page in (
        "tutorials/implementing_optimizers.rst",
        "tutorials/loss_aware.rst",
        "guides/jit.rst",
        "guides/mixed_precision.rst",
    ):
        assert page in PAGES


# -- the tutorials' optimizers against independent references ------------------


def _quadratic_stream(model: Any, steps: int) -> list[Any]:
    """Fixed gradients (not depending on the parameters), different every step."""
    r = np.random.default_rng(0)
    return [
        jax.tree.map(lambda p: jnp.asarray(r.normal(size=p.shape), p.dtype), model)
        for _ in range(steps)
    ]


def _model() -> dict[str, Any]:
    r = np.random.default_rng(1)
    return {
        "dense": {"kernel": jnp.asarray(r.normal(size=(4, 3)), jnp.float32)},
        "bias": jnp.asarray(r.normal(size=3), jnp.float32),
        "scale": jnp.asarray(1.5, jnp.float32),
    }


def _run(opt: Any, model: Any, grads: list[Any], jit: bool) -> Any:
    step = jax.jit(lambda o, m, g: (o, o(m, g))) if jit else None
    for g in grads:
        if step is None:
            model = opt(model, g)
        else:
            opt, model = step(opt, model, g)
    return model


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_tutorial_adam_matches_builtin(jit: bool) -> None:
    ns = run_page("tutorials/implementing_optimizers.rst").namespace
    assert "Adam" in ns, "the tutorial no longer defines Adam"
    TutorialAdam = ns["Adam"]
    assert issubclass(TutorialAdam, flr.opt.Optimizer)
    model, grads = _model(), _quadratic_stream(_model(), 100)
    mine = _run(TutorialAdam(learning_rate=0.01), model, grads, jit)
    ref = _run(flr.optim.Adam(0.01), model, grads, jit)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), mine, ref)
    # ... and both against optax, so that the comparison is not only self-consistent.
    tx = optax.adam(0.01)

    @jax.jit
    def optax_step(params: Any, state: Any, g: Any) -> tuple[Any, Any]:
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    params, state = model, tx.init(model)
    for g in grads:
        params, state = optax_step(params, state, g)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), mine, params)


def test_tutorial_adam_defaults_and_state() -> None:
    TutorialAdam = run_page("tutorials/implementing_optimizers.rst").namespace["Adam"]
    opt = TutorialAdam()
    assert float(opt.learning_rate) == pytest.approx(1e-3)
    assert (float(opt.b1), float(opt.b2)) == pytest.approx((0.9, 0.999))
    assert float(opt.eps) == pytest.approx(1e-8)
    assert opt.m == {} and opt.v == {}
    assert opt.t.dtype == jnp.uint32 and int(opt.t) == 0
    model = _model()
    opt(model, jax.tree.map(jnp.ones_like, model))
    assert int(opt.t) == 1
    assert set(opt.m) == set(opt.v) == {"dense.kernel", "bias", "scale"}


def test_tutorial_adam_passes_the_conformance_kit() -> None:
    from flarejax.testing import check_optimizer

    TutorialAdam = run_page("tutorials/implementing_optimizers.rst").namespace["Adam"]
    # Convergence and the comparison with a reference are covered above.
    check_optimizer(lambda: TutorialAdam(learning_rate=0.01), steps=10, convergence=False)


def test_tutorial_polyak_matches_optax() -> None:
    ns = run_page("tutorials/loss_aware.rst").namespace
    PolyakSGD = ns["PolyakSGD"]
    r = np.random.default_rng(2)
    A = jnp.asarray(r.normal(size=(32, 12)), jnp.float32)
    y = A @ jnp.asarray(r.normal(size=12), jnp.float32) + 0.5
    model = {"w": jnp.zeros(12), "b": jnp.zeros(())}

    def loss_fn(m: Any, rows: jax.Array) -> jax.Array:
        return 0.5 * jnp.mean((A[rows] @ m["w"] + m["b"] - y[rows]) ** 2)

    batches = [jnp.asarray(r.choice(32, size=8, replace=False)) for _ in range(40)]
    opt = PolyakSGD(max_learning_rate=2.0)
    mine = model
    for rows in batches:
        mine, _ = opt.minimize(loss_fn, mine, rows)
    tx = optax.polyak_sgd(max_learning_rate=2.0)

    @jax.jit
    def optax_step(params: Any, state: Any, rows: jax.Array) -> tuple[Any, Any]:
        value, g = jax.value_and_grad(loss_fn)(params, rows)
        updates, state = tx.update(g, state, params, value=value)
        return optax.apply_updates(params, updates), state

    params, state = model, tx.init(model)
    for rows in batches:
        params, state = optax_step(params, state, rows)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), mine, params)
    assert float(opt.step_size) > 0


def test_readme_example_runs() -> None:
    """The README's Python example (a plain code block, for GitHub) runs and learns."""
    text = (DOCS.parent / "README.rst").read_text()
    m = re.search(r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text, re.M)
    assert m, "README.rst has no python code block"
    code = "\n".join(line[3:] for line in m.group(1).splitlines())
    ns: dict[str, Any] = {}
    exec(compile(code, "README.rst", "exec"), ns)
    assert int(ns["opt"].t) == 101
    assert float(ns["loss_fn"](ns["model"], ns["x"], ns["y"])) < 1e-3
