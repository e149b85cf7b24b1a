"""The docs stay true: every link resolves, every `casetrack` command they show exists with its options, and
every test a guarantee cites is there.

Pure checks over the Markdown files and the click command tree; running the README's examples is
``tests/e2e/test_readme_examples.py``'s job.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import click
import pytest

from casetrack.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^(```|~~~)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (CJK kept), spaces to hyphens."""
    text = re.sub(r"[`*]", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fence = not fence
        if fence or not line.startswith("#"):
            continue
        base = slug(line.lstrip("#"))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return frozenset(out)


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_link_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:, file: are not checked offline
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)


def _command_lines(text: str) -> list[str]:
    """`casetrack ...` invocations from code spans, indented blocks and fenced blocks."""
    found: list[str] = []
    candidates = CODE_SPAN.findall(text) + [
        line.strip() for line in text.splitlines() if line.startswith("    ")
    ]
    fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            fence = not fence
        elif fence:
            candidates.append(line.strip())
    for cand in candidates:
        cand = re.sub(r"\s+#.*$", "", cand)  # trailing shell comment
        m = re.search(r"(?:^|\s|/)casetrack\s+([a-z].*)$", cand)
        if m and not cand.startswith(("import ", "from ")):
            found.append(m.group(1))
    return found


def _check(words: list[str]) -> str | None:
    """None if ``casetrack WORDS`` names a command and options that exist, else why not."""
    group: click.Command = cli_main
    path = ["casetrack"]
    opts: set[str] = set()
    for word in words:
        if word in {"|", "&&", ";", ">", "2>&1"}:
            break
        if isinstance(group, click.Group) and not word.startswith("-"):
            if word in {"/", "or"}:
                continue
            names = word.split("|")  # alternatives written `list|show|republish`
            unknown = [n for n in names if n not in group.commands]
            if unknown:
                return f"{' '.join(path)} has no command {unknown[0]!r}"
            group, path = group.commands[names[0]], [*path, word]
            continue
        if word.startswith("--") or re.match(r"^-[a-zA-Z]$", word):
            name = word.split("=")[0].split("[")[0].rstrip(",")
            opts = {o for p in group.params for o in [*p.opts, *p.secondary_opts]} | {"--help", "-h"}
            if name not in opts:
                return f"{' '.join(path)} has no option {name}"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_casetrack_command_shown_exists(doc: Path) -> None:
    wrong = []
    for line in _command_lines(doc.read_text(encoding="utf-8")):
        line = line.replace("\\|", "|")
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        why = _check(words)
        if why:
            wrong.append(f"`casetrack {line}`: {why}")
    assert not wrong, f"{doc.relative_to(ROOT)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_cited_test_exists(doc: Path) -> None:
    missing = []
    for span in CODE_SPAN.findall(doc.read_text(encoding="utf-8")):
        m = re.fullmatch(r"(tests/[\w/]+\.py)(?:::([\w*]+))?", span.strip())
        if not m:
            continue
        path = ROOT / m.group(1)
        if not path.exists():
            missing.append(f"{m.group(1)}: no such file")
            continue
        if m.group(2):
            pattern = re.escape(m.group(2)).replace(r"\*", r"\w*")
            if not re.search(rf"def {pattern}\b", path.read_text(encoding="utf-8")):
                missing.append(f"{span}: no such test")
    assert not missing, f"{doc.relative_to(ROOT)}: " + "; ".join(missing)
