"""Terminal output of the operator commands: tables that are readable at 80 columns and never cut a cell.

Rules (docs/operators.md, "Output"): numbers and identifiers an operator copies into another command (a dead
letter's source, a topic) are never shortened; free text wraps in its column. On a terminal the console
is as wide as the terminal (or ``COLUMNS``); piped into a file or another program, it is as wide as the
widest row, so a script reads every cell whole (``--json`` is the machine format).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table

#: width of a piped console without COLUMNS: rows are never cut, whatever their width
UNBOUNDED = 10_000


def console(stderr: bool = False) -> Console:
    """A console for tables: the terminal's width, ``COLUMNS`` if set, else unbounded (piped)."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or "COLUMNS" in os.environ else UNBOUNDED
    return Console(width=width, soft_wrap=False, highlight=False, stderr=stderr)


def show(
    out: Console,
    title: str,
    headings: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
) -> None:
    """Print ``rows`` as a table when it fits the console; otherwise one block per row, each cell on its own
    line after its heading, so that nothing is cut or squeezed (an 80-column terminal, a long topic name)."""
    widths = [max([cell_len(h)] + [cell_len(r[i]) for r in rows]) for i, h in enumerate(headings)]
    if 1 + sum(w + 3 for w in widths) <= out.width:
        t = Table(title=title, title_justify="left", header_style="bold")
        for i, heading in enumerate(headings):
            t.add_column(heading, justify="right" if i in numeric else "left", no_wrap=True)
        for r in rows:
            t.add_row(*r)
        out.print(t)
        return
    out.print(f"[bold]{escape(title)}[/]")
    label = max(cell_len(h) for h in headings)
    for r in rows:
        out.print()
        for h, cell in zip(headings, r, strict=True):
            out.print(f"  {h + ':':<{label + 1}} {escape(cell)}")


class ProgressBar:
    """A rich progress bar with ETA on stderr, one task per (family, phase)."""

    def __init__(self, disabled: bool) -> None:
        self.disabled = disabled
        self.progress: Any = None
        self.tasks: dict[str, Any] = {}
        self._last = 0.0
        self._phase = ""
        self.family = ""  # set by the caller per family: "case " etc.

    def __enter__(self) -> ProgressBar:
        if not self.disabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
            )  # fmt: skip
            self.progress.start()
        return self

    def update(self, phase: str, done: int, total: int) -> None:
        if self.progress is None:  # not a terminal: a line when a phase starts, then every 5 s
            now = time.monotonic()
            if now - self._last >= 5 or self.family + phase != self._phase:
                self._last, self._phase = now, self.family + phase
                click.echo(f"  {self.family}{phase}: {done:,} / {total:,}", err=True)
            return
        key = self.family + phase
        if key != self._phase:  # one bar per family and phase
            self._phase = key
            self.tasks[key] = self.progress.add_task(key, total=total)
        self.progress.update(self.tasks[key], completed=done, total=max(total, done))

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
