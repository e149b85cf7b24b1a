"""CLI commands registered by :mod:`casetrack.cli` (see ``COMMANDS``)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
