"""release_freed_memory: what a finished sync freed leaves the process."""

from __future__ import annotations

import pyarrow as pa

from ingest.memory import release_freed_memory


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def test_freed_heap_and_arrow_memory_go_back_to_the_system():
    release_freed_memory()
    # 200 MiB of 1 KiB buffers (glibc's heap, not mmap), all freed but the newest, which pins the
    # top of the heap: glibc keeps the rest mapped until asked
    buffers = [bytearray(1024) for _ in range(200_000)]
    table = pa.array(range(10_000_000))  # 80 MB in Arrow's pool
    pinned = buffers[-1]
    del buffers, table
    held = rss_mib()
    release_freed_memory()
    assert held - rss_mib() > 150, (held, rss_mib())
    assert pa.default_memory_pool().bytes_allocated() == 0
    assert len(pinned) == 1024
