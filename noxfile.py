"""Developer sessions: ``nox -s tests``, ``tests_lowest_jax``, ``lint``, ``typecheck``, ``docs``,
``examples``, ``bench``.

``nox`` alone runs the default sessions (tests, lint, typecheck, docs). Each session
installs what it needs into its own virtual environment under ``.nox/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, on two workers (the docs pages and the examples' smoke runs included)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs)


def _lowest(requirement: str) -> str:
    """The version after ``>=`` in pyproject.toml's dependency on ``requirement``."""
    text = (ROOT / "pyproject.toml").read_text()
    dependencies = re.search(r"^dependencies = \[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    found = dependencies and re.search(
        rf"\"{re.escape(requirement)}\s*>=\s*([0-9.]+)\"", dependencies.group(1)
    )
    if found:
        return found.group(1)
    raise ValueError(f"pyproject.toml has no {requirement}>=... dependency")


@nox.session
def tests_lowest_jax(session: nox.Session) -> None:
    """The test suite against the oldest jax and jaxlib that pyproject.toml accepts."""
    jax, jaxlib = _lowest("jax"), _lowest("jaxlib")
    session.install("-e", ".[test]", f"jax=={jax}", f"jaxlib=={jaxlib}")
    session.run("python", "-c", "import jax; print('jax', jax.__version__)")
    session.run("python", "-m", "pytest", "-n", "2", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on the package."""
    session.install("-e", ".", "mypy")
    session.run("mypy", "flarejax")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML documentation, warnings as errors, then run its code blocks."""
    # The pages' code uses optax, Flax (TrainState) and orbax (flarejax.sharding).
    session.install("-e", ".[docs,examples,distributed]")
    session.run("sphinx-build", "-W", "-b", "html", "docs", "docs/_build/html")
    session.run("sphinx-build", "-W", "-q", "-b", "doctest", "docs", "docs/_build/doctest")


@nox.session
def examples(session: nox.Session) -> None:
    """Full runs of every example (figures in examples/out/)."""
    session.install("-e", ".[examples]")
    for name in EXAMPLES:
        session.run("python", f"examples/{name}", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks (benchmarks/run.py; it compares with optax, Flax and Equinox)."""
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """100,000 eager and 100,000 jitted steps: compiles, RSS and live buffers stay flat."""
    session.install("-e", ".")
    session.run("python", "benchmarks/soak.py", *session.posargs)
