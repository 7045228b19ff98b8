"""The rooms of ``crawler/`` keep their rules: no import cycle between them, no import of the
Scrapy adapters (``spiders/``, ``pipelines/``), the crawl libraries only where crawling happens,
and no ``type: ignore`` without its code and a reason.

Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CRAWLER = REPO / "crawler"
CRAWL_LIBRARIES = ("scrapy", "twisted", "trafilatura")
# the rooms that crawl may import the crawl libraries; nothing else in crawler/ does
CRAWL_ROOMS = ("crawl", "extract")


def _modules(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if "migrations/versions" not in path.as_posix():
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module *path* imports (absolute names), anywhere in the file."""
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from crawler import db` imports crawler.db
                yield node.lineno, f"{module}.{alias.name}"


def _room(module: str) -> str | None:
    """``crawler.search.query`` -> ``search``; ``crawler.db`` -> ``db``; others -> None."""
    parts = module.split(".")
    if parts[0] != "crawler" or len(parts) < 2:
        return None
    room = parts[1]
    if not ((CRAWLER / room).is_dir() or (CRAWLER / f"{room}.py").is_file()):
        return None  # `from crawler.x import name` where name is not a module
    return room


def _room_graph() -> dict[str, dict[str, list[str]]]:
    """room -> {room it imports: [where]}"""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in _modules(CRAWLER):
        source = _room(_module_name(path))
        if source is None:
            continue
        graph.setdefault(source, {})
        for lineno, module in _imports(path):
            target = _room(module)
            if target is not None and target != source:
                where = f"{path.relative_to(REPO)}:{lineno}"
                graph[source].setdefault(target, []).append(where)
    return graph


def _cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(room: str) -> list[str] | None:
        state[room] = 1
        path.append(room)
        for target in sorted(graph.get(room, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[room] = 2
        return None

    for room in sorted(graph):
        if room not in state and (found := visit(room)):
            return found
    return None


# What each room may import (docs/internals.md shows the same table). A new dependency
# between rooms is a design decision: add it here, and to the docs, on purpose.
MAY_IMPORT: dict[str, set[str]] = {
    "text": set(),
    "db": set(),
    "settings": set(),
    "config": {"search", "text"},
    "timespec": {"config"},
    "tagging": {"config", "db", "text"},
    "stories": {"db"},
    "search": {"db", "text"},
    "extract": {"config", "tagging", "text"},
    "crawl": {"config", "db", "extract", "settings", "stories", "tagging", "text"},
    "store": {"crawl", "db", "stories"},
    "digest": {"config", "db", "search", "text"},
    "schedule": {"config", "db", "digest", "text"},
    "sample_site": {"config", "crawl", "db", "stories", "text"},
    "migrations": {"db", "search"},
    "cli": {
        "config",
        "crawl",
        "db",
        "digest",
        "extract",
        "sample_site",
        "schedule",
        "search",
        "stories",
        "tagging",
        "text",
        "timespec",
        "web",
    },
    "web": {
        "config",
        "db",
        "digest",
        "schedule",
        "search",
        "stories",
        "tagging",
        "text",
        "timespec",
    },
    "__main__": {"cli"},
}


def test_rooms_import_only_what_the_table_allows() -> None:
    graph = _room_graph()
    unknown = sorted(set(graph) - set(MAY_IMPORT))
    assert not unknown, f"new rooms {unknown}: add them to MAY_IMPORT (and docs/internals.md)"
    offenders = [
        f"{room} -> {target} ({', '.join(where[:3])})"
        for room, targets in sorted(graph.items())
        for target, where in sorted(targets.items())
        if target not in MAY_IMPORT[room]
    ]
    assert not offenders, "imports the room table does not allow:\n" + "\n".join(offenders)
    unused = [
        f"{room} -> {target}"
        for room, targets in sorted(MAY_IMPORT.items())
        for target in sorted(targets - set(graph.get(room, {})))
    ]
    assert not unused, "the table allows imports no module makes (keep it exact):\n" + "\n".join(
        unused
    )


def test_no_import_cycle_between_rooms() -> None:
    graph = _room_graph()
    assert {"cli", "config", "crawl", "extract", "text", "db"} <= set(graph)
    cycle = _cycle(graph)
    if cycle:
        steps = [f"{a} -> {b} ({', '.join(graph[a][b][:3])})" for a, b in itertools.pairwise(cycle)]
        pytest.fail("import cycle between rooms of crawler/:\n  " + "\n  ".join(steps))


def test_no_import_cycle_between_modules() -> None:
    """Finer than rooms: a module never imports itself back through others (the old CLI did)."""
    modules = {_module_name(path): path for path in _modules(CRAWLER)}
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in modules.items():
        graph[name] = {}
        for lineno, module in _imports(path):
            if module in modules and module != name:
                graph[name].setdefault(module, []).append(f"{path.relative_to(REPO)}:{lineno}")
    cycle = _cycle(graph)
    assert cycle is None, "import cycle between modules: " + " -> ".join(cycle or [])


def test_cycle_detection_finds_a_cycle() -> None:
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"a": ["z"]}, "d": {"a": ["w"]}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": ["x"]}, "b": {}}) is None


def test_crawler_never_imports_the_scrapy_adapters() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{lineno} imports {module}"
        for path in _modules(CRAWLER)
        for lineno, module in _imports(path)
        if module.split(".")[0] in ("spiders", "pipelines")
    ]
    assert not offenders, "crawler/ must not import spiders/ or pipelines/:\n" + "\n".join(
        offenders
    )


def test_only_the_crawl_rooms_import_the_crawl_libraries() -> None:
    offenders = []
    for path in _modules(CRAWLER):
        room = _room(_module_name(path))
        if room in CRAWL_ROOMS:
            continue
        for lineno, module in _imports(path):
            if module.split(".")[0] in CRAWL_LIBRARIES:
                offenders.append(f"{path.relative_to(REPO)}:{lineno} imports {module}")
    assert not offenders, (
        f"only crawler/{{{','.join(CRAWL_ROOMS)}}}/ may import {', '.join(CRAWL_LIBRARIES)}:\n"
        + "\n".join(offenders)
    )


_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    offenders = []
    for root in (CRAWLER, REPO / "spiders", REPO / "pipelines"):
        for path in _modules(root):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                found = _IGNORE.search(line)
                if found and not (found["codes"] and found["rest"].strip(" #()-:")):
                    offenders.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()}")
    assert not offenders, (
        "write `# type: ignore[code]  # why` (a reason on the same line):\n" + "\n".join(offenders)
    )
