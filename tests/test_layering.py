"""The import layering (DESIGN §2): every module of the apps and of config, its imports read from
the source (no import is run), held to two rules.

* **Floors.** Imports run downwards only: practice ← relations ← connections, portal, sync ←
  config. No module imports one on a floor above its own, and connections, portal and sync (one
  floor) do not import each other.
* **No circles.** No module imports, directly or through others, a module that imports it back.

Every import statement counts, wherever it stands: a function-local import is still a dependency
(it is the usual way to dodge a circle at import time, which is what this test is here to stop).
An import under `if TYPE_CHECKING:` counts for the floors (a type from a floor above is still a
dependency on it) but not for the circles (it never runs). A module's import of `a.b.c` counts as
an import of that module only, not of the packages `a` and `a.b` that Python runs on the way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# DESIGN §9: practice ← relations ← connections, sync, lookups ← portal, work ← collab ← config.
FLOORS = {
    "practice": 0,
    "relations": 1,
    "connections": 2,
    "sync": 2,
    "lookups": 2,
    "portal": 3,
    "work": 3,
    "collab": 4,
    "config": 5,
}

# Edges (importer, imported) that are known and on their way out; each says who removes it.
ALLOWED: set[tuple[str, str]] = set()  # none: every known upward import is gone


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (one of ours)
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`


def _modules() -> dict[str, Path]:
    found = {}
    for app in FLOORS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _ours(name: str) -> str | None:
    """The module of ours that `name` is, or the innermost package of ours holding it."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the module's package
            package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
            for _up in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        # `from a.b import c`: the module a.b.c when there is one, else (a name in) a.b.
        names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        names = [name if name in MODULES else base for name in names]
    for name in names:
        target = _ours(name)
        if target is not None and target != module:
            yield target


def _imports(module: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))

    def walk(node: ast.AST, type_only: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk_one(statement, True)
                for statement in child.orelse:
                    yield from walk_one(statement, type_only)
            else:
                yield from walk_one(child, type_only)

    def walk_one(node: ast.AST, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(module, node):
                yield Import(module, target, node.lineno, type_only)
        else:
            yield from walk(node, type_only)

    yield from walk(tree, False)


IMPORTS = [found for module in MODULES for found in _imports(module)]


def _app(module: str) -> str:
    return module.partition(".")[0]


def _upwards(found: Import) -> bool:
    source, target = _app(found.source), _app(found.target)
    return source != target and FLOORS[target] >= FLOORS[source]


def _circles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iteratively)."""
    graph: dict[str, list[str]] = {module: [] for module in MODULES}
    for source, target in sorted(edges):
        graph[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph[successor])))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
    return circles


def test_the_walk_sees_the_imports_it_must_judge():
    """The walk itself: a function-local import and a from-import of a module are both seen."""
    assert len(MODULES) > 50
    edges = {(found.source, found.target) for found in IMPORTS}
    assert ("relations.models", "practice.models") in edges
    assert ("sync.apps", "sync.receivers") in edges  # imported inside AppConfig.ready()
    assert ("practice.middleware", "practice.models") in edges


def test_no_module_imports_one_on_a_floor_above_or_beside_its_own():
    wrong = [
        f"{found.source} (line {found.line}) imports {found.target}"
        for found in IMPORTS
        if _upwards(found) and (found.source, found.target) not in ALLOWED
    ]
    assert wrong == []


def test_no_import_circles():
    edges = {
        (found.source, found.target)
        for found in IMPORTS
        if not found.type_only and (found.source, found.target) not in ALLOWED
    }
    assert _circles(edges) == []


def test_the_allow_list_holds_only_imports_that_are_there():
    edges = {(found.source, found.target) for found in IMPORTS}
    assert ALLOWED - edges == set()
