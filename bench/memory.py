"""memory_ratio: peak RSS of a full sync of every source at 10 N orders over that at N.

The sandbox serves from a process of its own (bench.sandbox_scale's child), so only the sync is
measured: a second child syncs every source in full into a fresh set of schemas and reports its
own peak RSS (VmHWM). Memory stays flat when pages are streamed: the ratio should be near 1.

    python -m bench.memory --orders N      # prints memory_rss_gib_<N> for one size
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

from bench.sandbox_scale import gib, label
from bench.scratch import scratch_home
from bench.served import served_world


def peak_rss_kb() -> int:
    """This process's peak RSS since exec (VmHWM). ru_maxrss would do, but Linux carries it over
    exec: the child would report the benchmark process it was forked from."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sync_child() -> None:
    """Runs in the measured process: every source, full refresh, then the peak RSS as JSON."""
    from seamline.runtime import configure

    configure()
    from ingest.pipeline import available_sources
    from ingest.sync import sync_source
    from seamline.database import get_database

    db = get_database()
    results = [sync_source(name, full_refresh=True, db=db) for name in available_sources()]
    print(json.dumps({"rss_kb": peak_rss_kb(),
                      "rows": sum(r.rows for r in results),
                      "failed": [r.source for r in results if not r.ok]}), flush=True)


def peak_sync_rss(orders: int, seed: int = 7) -> dict:
    """Serve a world of `orders` web orders, sync it all in a child process; its peak RSS (KiB)."""
    from bench.figures import UNLIMITED

    with served_world(orders, seed, faults=UNLIMITED) as world:
        env = {**os.environ, **world.settings, "SEAMLINE_SCHEMA_PREFIX": f"bench_mem_{label(orders)}_"}
        done = subprocess.run([sys.executable, "-m", "bench.memory", "--child"], env=env, capture_output=True,
                              text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the sync child failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_figures(orders: int):
    """`name: value` pairs: peak RSS at N and 10 N orders, and their ratio."""
    small, large = peak_sync_rss(orders), peak_sync_rss(orders * 10)
    for size, run in ((orders, small), (orders * 10, large)):
        yield f"memory_rss_gib_{label(size)}", gib(run["rss_kb"])
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
    print(f"memory_rows_{label(args.orders)}: {run['rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
