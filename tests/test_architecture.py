"""The project's shape: imports point one way, no module imports itself back, modules stay small.

The import graph is read from the source with ``ast`` (every ``import`` statement, at any depth,
so an import hidden inside a function to dodge a cycle is still seen), not from what Python happened
to load.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("linktrack", "tracking", "analytics", "notifications")
# ``tracking`` owns the writes and announces facts with signals and event rows; the apps that read
# or deliver them depend on it, never the other way round.
FORBIDDEN = {"tracking": ("analytics", "notifications"), "analytics": ("notifications",)}
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, the most specific module each statement names."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "tracking.clicks.writer" in graph
    assert "tracking.clicks.stream" in graph["tracking.clicks.writer"]
    assert "tracking" in {target.partition(".")[0] for target in graph["analytics.views"]}


def test_the_cycle_finder_finds_a_cycle_hidden_behind_a_detour() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back() -> None:
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize(("app", "never"), sorted(FORBIDDEN.items()))
def test_dependencies_point_one_way(app: str, never: tuple[str, ...]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module.partition(".")[0] == app
        for target in targets
        if target.partition(".")[0] in never
    )
    assert wrong == []


def test_modules_stay_small_or_say_why() -> None:
    too_long = []
    for name, path in project_modules().items():
        text = path.read_text(encoding="utf-8")
        head = text[:2000].lower()
        if text.count("\n") > MAX_LINES and "one piece" not in head:
            too_long.append(f"{name} ({text.count(chr(10))} lines)")
    assert too_long == []
