"""`make bench` / `python -m bench [--quick] [--orders N] [--memory-orders M]`: figures as
`name: value` lines: load_ratio, e2e_ratio, incremental_ratio, dbt_incremental_ratio and
memory_ratio, with the timings and counts behind them.

Every figure is a ratio of two timings taken in this same run (the machines are shared and
noisy, so absolute seconds mean little); see bench/RESULTS.md for the latest numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench.scratch import scratch_home
from seamline.runtime import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="10,000 orders instead of 100,000")
    parser.add_argument("--orders", type=int, help="web orders in the world")
    parser.add_argument("--memory-orders", type=int,
                        help="memory_ratio compares full syncs of this many orders and ten times as many "
                             "(default: --orders; 1,000 with --quick)")
    args = parser.parse_args(argv)
    orders = args.orders or (10_000 if args.quick else 100_000)
    with scratch_home():
        configure()

        from bench import figures

        print(f"orders: {orders}")
        print(f"cores: {os.cpu_count()}")
        started = time.monotonic()
        memory_orders = args.memory_orders or (1_000 if args.quick else orders)
        for name, value in figures.run_all(orders, memory_orders):
            print(f"{name}: {value}", flush=True)
        print(f"bench_seconds: {time.monotonic() - started:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
