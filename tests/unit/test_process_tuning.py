"""The process tuning a consumer applies before its first batch (consumers/process_tuning.py)."""

from __future__ import annotations

import gc
import platform

import pytest

from consumers.process_tuning import tune_gc, tune_malloc


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_fixed_mmap_threshold() -> None:
    assert tune_malloc() is True


def test_the_gc_collects_the_young_generation_less_often_after_tuning() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
