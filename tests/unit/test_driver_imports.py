"""Only adapters import psycopg2 (issue 16; docs/architecture.md, "Connections and driver errors").

An adapter is a module whose file name starts with ``pg_``; ``app/migrations/`` (Alembic), ``bench/`` and
``tests/`` may import the driver too. Read from the code's own imports, also those inside functions and of
submodules (``psycopg2.extensions``, ``psycopg2.sql``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = ("tests/", "bench/", "app/migrations/")


def _driver_imports(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            lines += [node.lineno for alias in node.names if alias.name.split(".")[0] == "psycopg2"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "psycopg2":
                lines.append(node.lineno)
    return lines


def _offenders() -> dict[str, list[int]]:
    found = {}
    packages = sorted(p.parent for p in ROOT.glob("*/__init__.py"))
    for path in (f for package in packages for f in sorted(package.rglob("*.py"))):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT) or path.name.startswith("pg_"):
            continue
        if lines := _driver_imports(path):
            found[rel] = lines
    return found


def test_only_adapters_import_psycopg2() -> None:
    offenders = _offenders()
    assert offenders == {}, "psycopg2 imported outside an adapter (a pg_*.py module): " + ", ".join(
        f"{rel}:{lines}" for rel, lines in offenders.items()
    )
