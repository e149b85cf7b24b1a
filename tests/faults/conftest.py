"""Fixtures of the fault tests: settings with a fixed pseudonym key (so two databases fold the same petitioner to
the same pseudonym and a faulty run can be compared with a clean one), and the clean run itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from app.settings import Settings
from tests.faults.support import snapshot
from tests.integration.helpers import consume

PSEUDONYM_KEY = "5e" * 32  # 32 bytes, hex


@pytest.fixture
def fault_settings(
    settings_factory: Callable[..., Settings], database_factory: Callable[[], str]
) -> Callable[..., Settings]:
    """``make(database_url=None, topics=None, **consumer_tuning)``: settings on a fresh database (unless given)."""

    def make(database_url: str | None = None, topics: Any = None, **consumer: object) -> Settings:
        s = settings_factory(database_url or database_factory(), topics, **consumer)
        return s.model_copy(update={"pseudonym_key": SecretStr(PSEUDONYM_KEY)})

    return make


@pytest.fixture
def clean_run(database_factory: Callable[[], str]) -> Callable[[Settings], dict[str, list[tuple[Any, ...]]]]:
    """The tables a clean, uninterrupted run produces from the same topics (in-process, a fresh database)."""

    def run(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
        clean = settings.model_copy(update={"database_url": database_factory()})
        consume(clean)
        assert clean.database_url
        return snapshot(clean.database_url)

    return run
