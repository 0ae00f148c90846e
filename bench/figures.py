"""The benchmark figures, each a ratio of two timings taken in this run."""

from __future__ import annotations

import os
import time

from bench.load import ceiling_load, record_order_pages, seamline_load
from bench.memory import memory_figures
from bench.served import served_world

# no rate-limit headers, so no client paces itself: the figures measure Seamline, not the vendors'
# limits (at 60 calls a minute, Xero alone makes a 100,000-order full sync wait for 40 minutes)
UNLIMITED = "*:rate_limit=off"


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def fetch_only(sources: list[str]) -> tuple[int, int]:
    """Walk every page of every stream through the sources' own clients, loading nothing (and
    not building Arrow tables either: columnar resources hand on their parsed records)."""
    from unittest import mock

    from ingest.columnar import NestedLayout
    from ingest.http import SyncStats
    from ingest.pipeline import make_source

    records = calls = 0
    with mock.patch.object(NestedLayout, "items", lambda self, page: [page]):
        for name in sources:
            stats = SyncStats()
            for item in make_source(name, stats=stats):
                records += 1 if isinstance(item, dict) else len(item)
            calls += sum(s.api_calls for s in stats.resources.values())
    return records, calls


def advance_one_percent(world, records: int, most_hours: int = 48) -> tuple[int, dict[str, int]]:
    """Move the world an hour at a time until about 1 % of the `records` a full sync loaded have
    changed; (hours, records changed per vendor). Trading is lumpy (a campaign send is thousands
    of Klaviyo events in one hour), so the change is counted, not assumed from the hours."""
    changed: dict[str, int] = {}
    hours = 0
    while hours < most_hours and sum(changed.values()) < 0.01 * records:
        for vendor, by_resource in world.advance(1).items():
            changed[vendor] = changed.get(vendor, 0) + sum(by_resource.values())
        hours += 1
    return hours, changed


def run_all(orders: int, memory_orders: int | None = None):
    """Every figure; the memory ratio compares syncs of memory_orders and ten times as many
    (default: `orders`, so 100,000 against 1,000,000)."""
    from flows.dbt import run_dbt
    from ingest.pipeline import available_sources
    from ingest.processes import sync_all  # each source in a process of its own, as the pipeline flow
    from seamline.database import get_database

    db = get_database()
    sources = list(available_sources())
    # served from a process of its own, as the vendors' APIs are: neither the syncs nor the
    # fetch-only client share a GIL with the server answering them
    with served_world(orders, faults=UNLIMITED) as world:
        yield "world_build_s", world.ready["build_s"]
        os.environ.update(world.settings)
        s = world.settings
        tape = record_order_pages(s["SOURCES__WOOCOMMERCE__BASE_URL"], s["SOURCES__WOOCOMMERCE__CONSUMER_KEY"],
                                  s["SOURCES__WOOCOMMERCE__CONSUMER_SECRET"])
        pages = [page.content for page in tape]
        ceiling = ceiling_load(db, pages)
        ours = seamline_load(db, tape)
        yield "load_ceiling_s", f"{ceiling:.2f}"
        yield "load_seamline_s", f"{ours:.2f}"
        yield "load_ratio", f"{ceiling / ours:.3f}"

        fetch_s, (records, _) = _timed(fetch_only, sources)
        full_s, results = _timed(sync_all, sources, db=db, full_refresh=True)
        failed = [r.source for r in results if not r.ok]
        if failed:
            yield "e2e_failed_sources", ",".join(failed)
        rows = sum(r.rows for r in results)
        yield "e2e_fetch_only_s", f"{fetch_s:.1f}"
        yield "e2e_full_sync_s", f"{full_s:.1f}"
        yield "e2e_ratio", f"{full_s / fetch_s:.2f}"
        yield "e2e_records_per_s", f"{rows / full_s:.0f}"

        dbt_full_s, _ = _timed(run_dbt, db, "build", "--full-refresh")
        hours, changed = advance_one_percent(world, rows)
        yield "incremental_world_hours", hours
        yield "incremental_changed_records", sum(changed.values())
        yield "incremental_changed_share", f"{sum(changed.values()) / rows:.3f}"
        incr_s, incr = _timed(sync_all, sources, db=db)
        yield "incremental_sync_s", f"{incr_s:.1f}"
        yield "incremental_ratio", f"{incr_s / full_s:.3f}"
        worst = 0
        for result in incr:
            for run in result.runs:
                budget = changed.get(result.source, 0) / 100 + 5
                worst = max(worst, run.api_calls - budget)
                yield f"incremental_api_calls_{result.source}_{run.resource}", run.api_calls
        yield "incremental_api_calls_over_budget", f"{max(0.0, worst):.0f}"
        dbt_incr_s, _ = _timed(run_dbt, db, "build")
        yield "dbt_full_refresh_s", f"{dbt_full_s:.1f}"
        yield "dbt_incremental_s", f"{dbt_incr_s:.1f}"
        yield "dbt_incremental_ratio", f"{dbt_incr_s / dbt_full_s:.3f}"
    # in worlds and processes of their own: the sync's peak RSS must not include the sandbox's
    yield from memory_figures(memory_orders or orders)
