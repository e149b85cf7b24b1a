"""External test-only tools (installed by ``.ci/run`` from Debian packages)."""

from __future__ import annotations

import os
import shutil

import pytest


def required_tool(name: str, package: str, what: str) -> str:
    """The path of ``name``. Missing on a developer's machine: the test is skipped, saying what is left
    unchecked. Missing in CI (``CI`` set, as ``.ci/run`` runs): the test fails, so a broken install step
    cannot turn a check into a silent skip."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed (apt-get install {package}): {what} unchecked"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must install it (see .ci/run)")
    pytest.skip(message)


def promtool(what: str) -> str:
    """``promtool`` from Debian's ``prometheus`` package."""
    return required_tool("promtool", "prometheus", what)
