"""Command-line options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from app.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

MAX_WORKERS = 64


def workers_option(help_text: str) -> Callable[[F], F]:
    """``--workers N``: processes folding in parallel, one core each (what they split is the command's help)."""
    return click.option(
        "--workers",
        type=click.IntRange(1, MAX_WORKERS),
        default=1,
        show_default=True,
        help=help_text,
    )


def settings_of(ctx: click.Context) -> Settings:
    """The settings the top-level group loaded (``ctx.obj`` of the root context), for any sub-command."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings
