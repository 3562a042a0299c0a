"""flarejax's modules import each other without cycles, and the core never imports ``optim``.

Parsed with ``ast``, not imported: the edges are the module-level imports
(``import``/``from ... import`` statements outside functions), the ones that run
when a module loads. Imports inside functions (the facade methods of
``Optimizer``) and under ``if TYPE_CHECKING:`` are not edges. Importing a module
runs its package's ``__init__`` first, so importing ``flarejax.optim._x`` is an
edge to ``flarejax.optim`` (which imports every optimizer) too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import flarejax

ROOT = Path(flarejax.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = ["flarejax", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module loads (``if TYPE_CHECKING:`` excluded)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, ast.With):
                visit(node.body)

    visit(tree.body)
    return found


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _top_level_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports the submodule ``pkg.sub``.
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for target in targets:
            if target in modules:
                out.add(target)
                # Importing a.b.c loads the package a.b (its __init__) first.
                parts = target.split(".")
                out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    # A module's own packages are loading already when it loads: no edge to them
    # (a package's __init__ importing its submodules is how packages load).
    return {t for t in out if t != name and not name.startswith(t + ".")}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (a list of modules), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_between_modules():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_core_does_not_import_optim():
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith("flarejax._core"):
            bad = sorted(t for t in targets if t.startswith("flarejax.optim"))
            assert not bad, f"{name} imports {bad} when it loads"


def test_the_core_imports_lazily_only_in_the_facades():
    """Inside functions, only ``Optimizer``'s facades import (``to_optax``, ...)."""
    for name, path in _modules().items():
        if not name.startswith("flarejax._core"):
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and node.level:
                    assert name == "flarejax._core.base", f"{name} imports {node.module} lazily"


def test_no_private_name_is_imported_across_core_modules():
    modules = _modules()
    for name, path in modules.items():
        if not name.startswith("flarejax."):
            continue
        for node in _top_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and "_core" in node.module:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{name} imports private {private} from {node.module}"


def test_the_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
