"""Process-wide tuning for a long batch loop: the cyclic GC and glibc's allocator.

Called once when a consumer starts (and again in each forked worker); both are about memory and CPU of the
whole process, not about any one batch. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging

log = logging.getLogger("casetrack.consumer")

#: glibc's mallopt parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD = -3)
_M_MMAP_THRESHOLD = -3
#: blocks of this size or more are mapped on their own and given back to the system when freed
MMAP_THRESHOLD = 128 * 1024


def tune_gc() -> None:
    """Make the cyclic GC cheap for a batch loop.

    A batch allocates tens of thousands of short-lived objects. With the default thresholds the collector
    runs every 700 allocations and walks every long-lived object each time it reaches the oldest
    generation, which cost a quarter of the consumer's time in profiles. Freezing what exists at start-up
    and collecting the young generation less often removes most of that; batch garbage is acyclic and is
    freed by reference counting anyway.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@functools.cache
def tune_malloc() -> bool:
    """Fix glibc's mmap threshold at 128 KiB, so that large blocks are always mapped on their own.

    By default glibc raises the threshold each time a mapped block is freed (up to 32 MiB), after which the
    fetch responses (up to ``fetch_max_bytes``) and the COPY pieces (about 1 MB) come from the heap, whose
    free space then stays in the process between batches: about 40 MB of it after 300,000 records. Fixed,
    they are unmapped when freed. Once per process (forked workers inherit it). True if set; False where the
    C library has no ``mallopt`` (nothing changes).
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own symbols: no library search
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) refused; the allocator keeps its default")
    return done


def tune_process() -> None:
    """Both of the above: what a consumer process does before its first batch."""
    tune_malloc()
    tune_gc()
