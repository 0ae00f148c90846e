"""memory_ratio: peak RSS of a full sync of every source at 10 N orders over that at N.

The sandbox serves from a process of its own (bench.served), so only the sync is measured: a
second child syncs every source in full into a fresh set of schemas, as the pipeline flow does
(each source in a process of its own, ingest/processes.py), and this process samples the RSS of
that child and everything it started (the fork server, the syncs) ten times a second. The figure
is the largest sum of RSS seen, a shared page counted once per process that maps it (so it errs
high); beside it the largest sum of PSS (each shared page split among its processes: the memory
the machine gave) and the largest single process. Memory stays flat when pages are streamed: the
ratio should be near 1.

    python -m bench.memory --orders N      # prints memory_rss_gib_<N> for one size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading

from bench.sandbox_scale import gib, label
from bench.scratch import scratch_home
from bench.served import served_world

SAMPLE_SECONDS = 0.1


def sync_child() -> None:
    """Runs in the measured process: every source, full refresh, then what landed as JSON."""
    from seamline.runtime import configure

    configure()
    from ingest.pipeline import available_sources
    from ingest.processes import sync_all
    from seamline.database import get_database

    results = sync_all(list(available_sources()), full_refresh=True, db=get_database())
    print(json.dumps({"rows": sum(r.rows for r in results), "failed": [r.source for r in results if not r.ok]}),
          flush=True)


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone while we looked
    return parents


def _kb(path: str, field: str) -> int:
    with open(path) as lines:
        return next((int(line.split()[1]) for line in lines if line.startswith(field)), 0)


def tree_memory_kb(root: int) -> dict[int, tuple[int, int]]:
    """(RSS, PSS) in KiB of `root` and of every process descended from it. PSS shares each page
    among the processes mapping it (the fork server's imports, in every child)."""
    parents = _parents()
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    sizes = {}
    for pid in tree:
        try:
            sizes[pid] = (_kb(f"/proc/{pid}/status", "VmRSS:"), _kb(f"/proc/{pid}/smaps_rollup", "Pss:"))
        except OSError:
            continue  # ended while we looked
    return sizes


def watch_peak(proc: subprocess.Popen) -> dict[str, int]:
    """Sample the process tree until `proc` ends: the largest sums and the largest single process."""
    peak = {"rss_kb": 0, "pss_kb": 0, "largest_process_kb": 0}
    while proc.poll() is None:
        sizes = tree_memory_kb(proc.pid).values()
        peak["rss_kb"] = max(peak["rss_kb"], sum(rss for rss, _ in sizes))
        peak["pss_kb"] = max(peak["pss_kb"], sum(pss for _, pss in sizes))
        peak["largest_process_kb"] = max([peak["largest_process_kb"], *(rss for rss, _ in sizes)])
        try:
            proc.wait(timeout=SAMPLE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    return peak


def peak_sync_rss(orders: int, seed: int = 7) -> dict:
    """Serve a world of `orders` web orders, sync it all in a child; the peak RSS (KiB) of its tree."""
    from bench.figures import UNLIMITED

    with served_world(orders, seed, faults=UNLIMITED) as world:
        env = {**os.environ, **world.settings, "SEAMLINE_SCHEMA_PREFIX": f"bench_mem_{label(orders)}_"}
        proc = subprocess.Popen([sys.executable, "-m", "bench.memory", "--child"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        output: dict[str, str] = {}
        readers = [threading.Thread(target=lambda name, pipe: output.update({name: pipe.read()}), args=pair)
                   for pair in (("out", proc.stdout), ("err", proc.stderr))]
        for reader in readers:
            reader.start()
        peak = watch_peak(proc)
        for reader in readers:
            reader.join()
    if proc.returncode != 0:
        raise RuntimeError(f"the sync child failed: {output.get('err', '').strip().splitlines()[-1:]}")
    return {**json.loads(output["out"].strip().splitlines()[-1]), **peak}


def memory_figures(orders: int):
    """`name: value` pairs: peak RSS at N and 10 N orders, and their ratio."""
    small, large = peak_sync_rss(orders), peak_sync_rss(orders * 10)
    for size, run in ((orders, small), (orders * 10, large)):
        yield f"memory_rss_gib_{label(size)}", gib(run["rss_kb"])
        yield f"memory_pss_gib_{label(size)}", gib(run["pss_kb"])
        yield f"memory_largest_process_gib_{label(size)}", gib(run["largest_process_kb"])
        yield f"memory_rows_{label(size)}", run["rows"]
        if run["failed"]:
            yield f"memory_failed_sources_{label(size)}", ",".join(run["failed"])
    yield "memory_ratio", f"{large['rss_kb'] / small['rss_kb']:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # runs in the home of the process that started it
        sync_child()
        return 0
    with scratch_home():
        run = peak_sync_rss(args.orders)
    print(f"memory_rss_gib_{label(args.orders)}: {gib(run['rss_kb'])}")
    print(f"memory_pss_gib_{label(args.orders)}: {gib(run['pss_kb'])}")
    print(f"memory_largest_process_gib_{label(args.orders)}: {gib(run['largest_process_kb'])}")
    print(f"memory_rows_{label(args.orders)}: {run['rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
