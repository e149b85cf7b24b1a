"""How an operator's invalid configuration file (the deadline policy, the calendar notices) is reported: one
indented line per problem, named by its place in the file, so the message says what to fix where."""

from __future__ import annotations

from pydantic import ValidationError


def validation_lines(err: ValidationError) -> str:
    """Each validation problem as ``  section.key: message`` on its own line."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
    return "\n".join(lines)
