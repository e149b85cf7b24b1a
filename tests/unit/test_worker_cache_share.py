"""`--workers N` shares the state cache out: each worker folds only its partitions' aggregates, so 1/N of the
cache keeps one process's hit rate and the process tree's memory does not grow with N."""

from __future__ import annotations

import pytest

from app.settings import Settings
from app.workers import _cache_share


@pytest.mark.parametrize(("size", "workers", "each"), [(50_000, 1, 50_000), (50_000, 2, 25_000), (50_000, 3, 16_667), (0, 2, 0)])  # fmt: skip
def test_each_worker_keeps_its_share_of_the_cache(size: int, workers: int, each: int) -> None:
    settings = Settings.model_validate({"consumer": {"state_cache_size": size}})
    share = _cache_share(settings, workers)
    assert share.consumer.state_cache_size == each
    assert share.consumer.max_batch_records == settings.consumer.max_batch_records
    assert settings.consumer.state_cache_size == size  # the caller's settings are untouched
