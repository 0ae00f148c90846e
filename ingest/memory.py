"""Hand the memory a finished sync freed back to the operating system.

Syncs normally run each in a process of its own (ingest/processes.py), which hands everything
back when it exits. With SEAMLINE_SYNC_PROCESSES=0 (and in the webhook processor's in-process
runner) they run in the calling process, sync after sync, and freed memory stays with the
allocators that held it: Python's (and cyclic garbage, which the relaxed collector of
seamline.runtime leaves for longer), Arrow's mimalloc pool and glibc's heap. This hands it back
(tests/test_memory_release.py). It does not explain all a long-lived process keeps: five full
syncs of 1,000,000 orders in one process peaked at 0.50 GiB against 0.33 for the largest alone
(bench/RESULTS.md), which is why syncs have their own processes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

import pyarrow as pa


def release_freed_memory() -> None:
    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(libc).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass  # not glibc (macOS, musl): that allocator keeps what it holds
