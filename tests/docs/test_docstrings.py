"""Every public name has a docstring, so that the API reference is never empty.

The public modules are ``flarejax`` and its submodules whose dotted names have no
part starting with an underscore; their public names are their ``__all__`` (the API
pages document exactly these, with ``automodule :members:``). A class must have its
own docstring (not one inherited from ``Optimizer``); a constant or type alias
must have an attribute docstring (a string literal right after its assignment) in
the module that defines it. Dunder metadata such as ``__version__`` is exempt.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import types
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import flarejax


def public_modules() -> list[str]:
    names = ["flarejax"]
    for info in pkgutil.walk_packages(flarejax.__path__, prefix="flarejax."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


@cache
def attribute_docstrings() -> dict[str, set[str]]:
    """Names assigned at module level and followed by a string literal, per file."""
    found: dict[str, set[str]] = {}
    root = Path(flarejax.__file__).parent
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        names: set[str] = set()
        body = tree.body
        for stmt, nxt in itertools.pairwise(body):
            if not (
                isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
                and nxt.value.value.strip()
            ):
                continue
            if isinstance(stmt, ast.Assign):
                names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                names.add(stmt.target.id)
        found[str(path)] = names
    return found


def has_docstring(module: types.ModuleType, name: str, obj: Any) -> bool:
    if isinstance(obj, types.ModuleType):
        return bool((obj.__doc__ or "").strip())
    if inspect.isclass(obj):
        return bool((obj.__dict__.get("__doc__") or "").strip())
    if inspect.isroutine(obj) or hasattr(obj, "__code__"):
        return bool((getattr(obj, "__doc__", None) or "").strip())
    # Data (constants, type aliases): an attribute docstring in the package's source,
    # in the module itself or in the private module it re-exports the name from.
    return any(name in names for names in attribute_docstrings().values())


MODULES = public_modules()


def test_public_modules_are_found() -> None:
    assert {"flarejax", "flarejax.optim", "flarejax.schedules"} <= set(MODULES)


@pytest.mark.parametrize("modname", MODULES)
def test_public_names_have_docstrings(modname: str) -> None:
    module = importlib.import_module(modname)
    assert (module.__doc__ or "").strip(), f"module {modname} has no docstring"
    public = getattr(module, "__all__", None)
    assert public is not None, f"public module {modname} has no __all__"
    missing = []
    for name in public:
        if name.startswith("__") and name.endswith("__"):
            continue
        assert hasattr(module, name), f"{modname}.__all__ names {name!r}, which is not defined"
        if not has_docstring(module, name, getattr(module, name)):
            missing.append(name)
    assert not missing, f"public names of {modname} without a docstring: {missing}"


def test_every_public_module_has_an_api_page() -> None:
    api = Path(__file__).resolve().parents[2] / "docs" / "api"
    pages = "\n".join(p.read_text() for p in api.glob("*.rst"))
    missing = [m for m in MODULES if f".. automodule:: {m}\n" not in pages]
    assert not missing, (
        f"public modules without a page in docs/api/: {missing}; add docs/api/<name>.rst "
        "with '.. automodule:: <module>' and ':members:', and list it in docs/api/index.rst"
    )


def test_the_checker_catches_a_missing_docstring() -> None:
    class NoDoc(flarejax.optim.Optimizer):
        pass

    def nodoc() -> None:
        pass

    assert not has_docstring(flarejax.optim, "NoDoc", NoDoc)
    assert not has_docstring(flarejax.optim, "nodoc", nodoc)
    assert not has_docstring(flarejax.optim, "NOT_A_DOCUMENTED_CONSTANT", 3)
    assert has_docstring(flarejax.optim, "Optimizer", flarejax.optim.Optimizer)
    assert has_docstring(flarejax.schedules, "Schedule", flarejax.schedules.Schedule)


def test_the_optim_page_lists_every_public_name_under_its_folder() -> None:
    """docs/api/optim.rst groups flarejax.optim by folder; every public name is in it."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "api" / "optim.rst").read_text()
    sections = {
        "_core": "The base class",
        "_optimizers": "Optimizers",
        "_transforms": "Gradient transforms",
        "_wrappers": "Combinators and wrappers",
        "_interop": "Interop and inspection",
    }
    starts = {key: page.index(f"\n{title}\n---") for key, title in sections.items()}
    ends = dict(zip(starts, [*sorted(starts.values())[1:], len(page)]))
    for name in flarejax.optim.__all__:
        module = getattr(flarejax.optim, name).__module__
        key = "_core" if module.startswith("flarejax._core") else module.split(".")[2]
        assert key in sections, f"{name} lives in {module}, outside the documented folders"
        section = page[starts[key] : ends[key]]
        assert f"flarejax.optim.{name}\n" in section, (
            f"docs/api/optim.rst: add '.. autoclass:: flarejax.optim.{name}' (or "
            f"autofunction) under {sections[key]!r}"
        )
