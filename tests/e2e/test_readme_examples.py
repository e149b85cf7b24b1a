"""The README's examples run exactly as written (issue 15, point 5).

Every shell example in README.md (an indented block, or a fence marked ``sh``/``bash``/``shell``/``console``, whose
first line is a command) runs in README order in one workspace, as a new user on a fresh clone would run it:
the working directory holds this checkout's files (its ``.venv`` included), ``PATH`` does **not** hold the
virtual environment (a bare ``casetrack`` must fail, as it would for that user), and no ``CASETRACK_*``
variable is set. Only what cannot run here is skipped, each with its reason (printed by ``-rs``). The SQL
examples (README and docs/analysts.md) then run, as the analysts' role, on the database the README's demo made.

A command that serves until stopped (``casetrack serve``) runs for a bounded time, then gets SIGTERM and must
exit 0. Each block is one ``bash`` script with ``set -euo pipefail``, so a failing line fails its block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from app.embedded import EmbeddedStack
from tests.integration.ops_support import ROOT

README = ROOT / "README.md"
SHELL_FENCES = {"sh", "bash", "shell", "console"}
COMMAND = re.compile(r"^(\$ )?(python3? |\.venv/|casetrack |export |CASETRACK_|psql |curl |bash |cd |cat )")
SERVE_SECONDS = 20


@dataclass(frozen=True)
class Block:
    line: int  # 1-based line of the page where the block starts
    kind: str  # "shell" or "sql"
    text: str
    page: str = "README.md"

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(readme: str, page: str = "README.md") -> list[Block]:
    """The shell and SQL examples of ``readme``, in order."""
    lines = readme.splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            lang, start, body = line[3:].strip().lower(), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            text = "\n".join(body)
            if lang == "sql":
                out.append(Block(start + 1, "sql", text, page))
            elif (lang in SHELL_FENCES or not lang) and COMMAND.match(text.lstrip()):
                out.append(Block(start + 1, "shell", text, page))
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            text = "\n".join(body).strip("\n")
            if COMMAND.match(text):
                out.append(Block(start + 1, "shell", text, page))
            continue
        i += 1
    return out


def skip_reason(block: Block) -> str | None:
    """Why ``block`` cannot run here, or None. Only reasons a reader would accept."""
    text = block.text
    if re.search(r"[\w-]+\.example(\.com)?\b|example\.com", text) or re.search(
        r"CASETRACK_(KAFKA_BOOTSTRAP|DATABASE_URL)=(?!['\"]?(127\.0\.0\.1|localhost))", text
    ):
        return "needs production servers (its hosts are placeholders)"
    if re.search(r"\[--|\bN\]|PATH\]", text):
        return "a synopsis of options, not a command"
    if "pip install" in text:
        return (
            "installs the package: this test runs inside the environment it makes (.ci/run installs afresh)"
        )
    if re.search(r"pytest\b", text):
        return "runs the test suite, which this test is part of"
    return None


def script(block: Block) -> str:
    """The block as a bash script: exactly its lines, except that a command serving until stopped runs under a
    bounded ``timeout`` that stops it with SIGTERM and passes on its own exit status."""
    out = ["set -euo pipefail"]
    for line in block.text.replace("\\\n", " ").splitlines():
        command = line.removeprefix("$ ")
        if re.match(r"^\S*casetrack serve\b", command.strip()):
            command = f"timeout --preserve-status -s TERM {SERVE_SECONDS} {command}"
        out.append(command)
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """A folder that looks like a fresh clone with its virtual environment: links to this checkout's files,
    but its own ``.casetrack`` data directory (so the embedded stack is the test's own)."""
    base = Path(tempfile.mkdtemp(prefix="casetrack-readme-"))
    base.chmod(0o755)  # as root, the embedded PostgreSQL's system user must enter it
    for entry in ROOT.iterdir():
        if entry.name not in (".casetrack", ".git", "schemas"):
            (base / entry.name).symlink_to(entry)
    try:
        yield base
    finally:
        EmbeddedStack(base / ".casetrack").down()
        shutil.rmtree(base, ignore_errors=True)


def environment(workspace: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASETRACK_", "VIRTUAL_ENV", "PYTHON"))}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env["HOME"] = str(workspace / "home")
    env["CASETRACK_METRICS_PORT"] = "0"  # `serve` must not collide with other tests; the only setting given
    (workspace / "home").mkdir(exist_ok=True)
    return env


README_BLOCKS = blocks(README.read_text(encoding="utf-8"))
#: the analysts' example queries live in docs/analysts.md since the README was split; they run too
SQL_BLOCKS = [
    b
    for page in (README, ROOT / "docs" / "analysts.md")
    for b in blocks(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))
    if b.kind == "sql"
]


def test_the_readme_has_examples_to_run() -> None:
    shell = [b for b in README_BLOCKS if b.kind == "shell"]
    assert len([b for b in shell if skip_reason(b) is None]) >= 2, [str(b) for b in shell]


@pytest.mark.parametrize("block", [b for b in README_BLOCKS if b.kind == "shell"], ids=str)
def test_shell_example_runs_as_written(block: Block, workspace: Path) -> None:
    reason = skip_reason(block)
    if reason:
        pytest.skip(f"{block}: {reason}")
    proc = subprocess.run(
        ["bash", "-c", script(block)], cwd=workspace, env=environment(workspace), capture_output=True,
        text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, (
        f"{block} failed (exit {proc.returncode}):\n{block.text}\n--- stdout\n{proc.stdout[-3000:]}"
        f"\n--- stderr\n{proc.stderr[-3000:]}"
    )


@pytest.mark.parametrize("block", SQL_BLOCKS, ids=str)
def test_sql_example_runs_for_an_analyst(block: Block, workspace: Path) -> None:
    """On the demo database the README's demo made (the stack is started again if an example stopped it)."""
    if not (workspace / ".casetrack" / "pg" / "PG_VERSION").exists():
        pytest.skip("the README's demo did not run (see the shell examples)")
    # through the CLI, so that the broker is not a child of this process (it outlives the test, until `down`)
    up = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "casetrack"), "up"], cwd=workspace, env=environment(workspace),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    url = re.search(r"^CASETRACK_DATABASE_URL='([^']+)'$", up.stdout, re.MULTILINE)
    assert url, up.stdout
    conn = psycopg2.connect(url[1], dbname="casetrack_demo")
    try:
        with conn.cursor() as cur:
            cur.execute("SET ROLE casetrack_analyst")  # what the analysts' role may read
            cur.execute(block.text)
            cur.fetchall()
    finally:
        conn.rollback()
        conn.close()
