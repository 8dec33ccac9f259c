"""The shape of the code: no import cycle among planner/ and models/, no project import inside a function,
and models/ (the mathematics) never imports planner/ (the I/O and the jobs)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("planner", "models")


def _modules() -> dict:
    """Module name -> parsed source, for every module of the two packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return found


def _imported(node, modules) -> list:
    """The project modules an import statement names (``from planner import guard`` names planner.guard)."""
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            return [node.module or "."]  # a relative import: refused below as well
        if node.module in PACKAGES:
            return [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                    for alias in node.names]
        return [node.module] if node.module.split(".")[0] in PACKAGES else []
    return [alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES]


def _graph(modules: dict) -> dict:
    graph = {}
    for name, tree in modules.items():
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(m for m in _imported(node, modules) if m in modules and m != name)
        graph[name] = edges
    return graph


def _cycles(graph: dict) -> list:
    """Every strongly connected group of more than one module (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_no_import_cycle_among_the_projects_modules():
    modules = _modules()
    assert len(modules) > 20  # the packages were found
    assert _cycles(_graph(modules)) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_project_module_is_imported_inside_a_function():
    modules = _modules()
    inside = []
    for name, tree in modules.items():
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)) and _imported(node, modules):
                        inside.append(f"{name}.{function.name} imports {', '.join(_imported(node, modules))}")
    assert inside == []


def test_the_mathematics_never_imports_the_jobs():
    graph = _graph(_modules())
    reaching = {name: sorted(m for m in edges if m.startswith("planner")) for name, edges in graph.items()
                if name.startswith("models")}
    assert {name: found for name, found in reaching.items() if found} == {}


def test_lines_fit_120_characters_and_pyflakes_finds_nothing():
    """The line length and the pyflakes checks (ruff's E501 and F rules) over every Python source."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E501,F", "--line-length",
                           "120", "--no-cache", "planner", "models", "tests", "bench", "scripts"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
