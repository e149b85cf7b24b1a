"""The folders are layers, and each imports only the layers below it (docs/architecture.md, "Layers").

Read from the code's own imports (every ``import``/``from`` statement, also those inside functions), so a new
upward import, or two folders importing each other, fails here with the file and line that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Bottom first. A folder may import any folder earlier in this list, never a later one; folders on one line
# sit side by side and import neither each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("events",),
    ("projections",),
    ("consumers",),
    ("privacy",),
    ("producers", "reports"),
    ("app",),
    ("ops",),
    ("casetrack",),
)
RANK = {folder: rank for rank, row in enumerate(LAYERS) for folder in row}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in one file."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def _violations() -> list[str]:
    out = []
    for folder, rank in RANK.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, target in _imports(path):
                if target in RANK and target != folder and RANK[target] >= rank:
                    where = f"{path.relative_to(ROOT)}:{line}"
                    out.append(f"{where} imports {target}/ (layer {RANK[target]}) from layer {rank}")
    return out


def test_every_folder_imports_only_layers_below_it() -> None:
    assert _violations() == []


def test_every_package_folder_has_a_layer() -> None:
    """A new top-level package must be placed in LAYERS (and in docs/architecture.md's table)."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(RANK)


def test_the_layer_table_in_the_docs_matches() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for folder in RANK:
        assert f"{folder}/" in text, f"docs/architecture.md does not describe {folder}/"
