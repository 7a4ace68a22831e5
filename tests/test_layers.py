"""The floors of the house, read from the code: ``index/`` at the ground, ``qa/`` on it, ``web/`` on ``qa/``,
``eval/`` on top (it measures the web app too), and the ``qa`` command (``qa/cli.py``) on the roof.

Every import counts, at the top of a module or inside a function (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = {"index": 0, "qa": 1, "web": 2, "eval": 3}
ROOF = "qa.cli"  # the command: the one module that may import every floor


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports."""
    modules = {_module(p): p for floor in FLOORS for p in (ROOT / floor).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                for a in node.names:  # `from qa import cli` imports the module qa.cli
                    targets.add(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_reaches_up_a_floor() -> None:
    upward = [
        f"{source} imports {target}"
        for source, targets in _graph().items()
        if source != ROOF
        for target in targets
        if FLOORS[target.split(".")[0]] > FLOORS[source.split(".")[0]]
    ]
    assert upward == []


def test_only_the_command_imports_web_or_eval_from_qa() -> None:
    graph = _graph()
    assert {
        s for s, ts in graph.items() if s.startswith("qa") and any(t.split(".")[0] in {"web", "eval"} for t in ts)
    } == {ROOF}
    assert ROOF not in set().union(*graph.values())  # nothing imports the command


def test_the_import_graph_has_no_circle() -> None:
    graph = _graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            if (circle := visit(target)) is not None:
                return circle
        path.pop()
        done.add(node)
        return None

    circles = [" -> ".join(c) for node in sorted(graph) if (c := visit(node)) is not None]
    assert circles == []


def test_the_checker_sees_what_it_should() -> None:
    """The graph is read from the code, not assumed: known edges are in it."""
    graph = _graph()
    assert "index.types" in graph["index.store"]
    assert "qa.retriever" in graph["qa.answer"]
    assert "eval.commands" in graph["qa.cli"]  # a lazy import counts
