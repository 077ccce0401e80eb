"""The house plan, enforced: every module sits on one floor and imports only its own floor or below.

Floors, bottom to top (the README's "Architecture" section draws them):

0. ``storage`` -- the archive: tables, migrations, reads and writes, WARC evidence read back,
   settings, errors. Imports nothing of the project.
1. the crawler's core -- extraction (pure functions), attachment readers, configuration, items,
   exports, checks and statistics over the archive, the demo site's content.
2. ``alerts`` -- the monitor and alert delivery.
3. the crawl -- Scrapy components (middlewares, pipelines, extensions), the spiders, the runner.
4. ``web`` -- the web app and API.
5. the edges -- the CLI (``crawler.cli``), ``python -m crawler``, ``scheduler.py``.

The test reads every module's imports (module level and inside functions, since a lazy import is
still a dependency) with :mod:`ast`, so it needs nothing installed beyond the standard library.
"""

from __future__ import annotations

import ast
import re
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("storage", "crawler", "alerts", "spiders", "web")

# Module prefix -> floor. The longest matching prefix wins, so a package's default can be
# overridden for the modules that belong elsewhere.
FLOORS: dict[str, int] = {
    "storage": 0,
    "crawler": 1,  # the core, unless listed below
    "alerts": 2,
    "crawler.capture": 3,
    "crawler.writer": 3,
    "crawler.child_process": 3,
    "crawler.middlewares": 3,
    "crawler.pipelines": 3,
    "crawler.attachment_pipeline": 3,
    "crawler.guard": 3,
    "crawler.ratelimit": 3,
    "crawler.redirects": 3,
    "crawler.failures": 3,
    "crawler.progress": 3,
    "crawler.stopping": 3,
    "crawler.runner": 3,
    "crawler.worker": 3,
    "crawler.distributed": 3,
    "crawler.shared_queue": 3,
    "crawler.settings": 3,
    "spiders": 3,
    "web": 4,
    "crawler.cli": 5,
    "crawler.__main__": 5,
    "scheduler": 5,
}
NAMES = {0: "storage", 1: "crawler core", 2: "alerts", 3: "crawl", 4: "web", 5: "edges"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {"scheduler": ROOT / "scheduler.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def floor_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, floor)
    for prefix, floor in FLOORS.items():
        matches = module == prefix or module.startswith(prefix + ".")
        if matches and (best is None or len(prefix) > best[0]):
            best = (len(prefix), floor)
    return None if best is None else best[1]


def _module_level(tree: ast.Module) -> list[ast.stmt]:
    """The statements run when the module is imported (not those inside functions or classes)."""
    statements: list[ast.stmt] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        statements.append(node)
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending += [child for child in getattr(node, block, []) if isinstance(child, ast.stmt)]
    return statements


def _imports(module: str, path: Path, *, module_level: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import of a project module in ``path`` (only those run
    at import time when ``module_level``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in _module_level(tree) if module_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            # `from storage import archive` imports storage.archive
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    roots = (*PACKAGES, "scheduler")
    return [(line, name) for line, name in found if name.split(".")[0] in roots]


MODULES = _modules()


def test_every_module_has_a_floor() -> None:
    assert [name for name in MODULES if floor_of(name) is None] == []


def test_no_import_points_up() -> None:
    upward = []
    for module, path in sorted(MODULES.items()):
        own = floor_of(module)
        assert own is not None
        for line, imported in _imports(module, path):
            target = floor_of(imported)
            if target is not None and target > own and imported in MODULES:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({NAMES[own]}) imports {imported} ({NAMES[target]})")
    assert upward == []


def test_storage_imports_nothing_of_the_project() -> None:
    reached = sorted(
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for module, path in MODULES.items() if module.startswith("storage")
        for line, imported in _imports(module, path)
        if not imported.startswith("storage")
    )
    assert reached == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, path in MODULES.items():
        for _, imported in _imports(module, path, module_level=True):
            if imported in MODULES and imported != module:
                graph[module].add(imported)
    return graph


def test_no_import_cycles() -> None:
    """Module-level import circles (the CLI registering commands by import, models importing
    each other) make the load order matter; there are none. (An import inside a function runs
    after both modules are loaded, so it is not a circle; it still counts for the floors.)"""
    graph = _graph()
    # A package's __init__ importing its own submodules is how packages re-export; the
    # submodule importing a sibling through the package is the circle we look for.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if target.startswith(node + "."):
                continue  # a package importing its own submodule
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target):], target]
                if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in pairwise(cycle)):
                    cycles.append(cycle)
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert cycles == []


# What a table write looks like in this code base: the ORM's unit of work, SQLAlchemy's DML
# constructs on a model or table, the dialects' inserts, and raw SQL.
TABLE_WRITES = {
    "ORM write": re.compile(r"\bsession\.(?:add|add_all|merge|delete)\("),
    "DML construct": re.compile(r"(?<![\w.])(?:insert|update|delete)\((?:[A-Z]\w*|\w+\.__table__)\b"),
    "dialect insert": re.compile(r"\b(?:postgresql|sqlite)\.insert\("),
    "raw SQL write": re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE),
}


@pytest.mark.parametrize("kind", sorted(TABLE_WRITES))
def test_only_storage_writes_archive_tables(kind: str) -> None:
    """Every write to an archive table goes through a function of ``storage``; the other floors
    own transactions (begin/commit) but never build a write themselves."""
    pattern = TABLE_WRITES[kind]
    writers = []
    for module, path in sorted(MODULES.items()):
        if module.startswith("storage"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line.split("#", 1)[0]):
                writers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert writers == []
