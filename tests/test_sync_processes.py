"""Syncs in processes of their own: same rows as in-process, a killed child is a recorded, transient
failure whose rerun loses and doubles nothing, and SEAMLINE_SYNC_PROCESSES bounds how many run."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import datetime, timezone

import pytest
from conftest import rows, scalar, serve_world

from ingest.processes import sync_all, sync_in_process
from sandbox.woocommerce.store import order_totals
from sandbox.world import World
from seamline import settings

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def woocommerce_matches(db, world, schema: str) -> None:
    orders = list(world.woocommerce.orders.values())
    ids = [o.id for o in orders]
    assert scalar(db, f"select count(*) from {schema}.orders where id = any(%s)", ids) == len(orders)
    assert scalar(db, f"select count(*) - count(distinct id) from {schema}.orders") == 0
    assert scalar(db, f"select sum(total) from {schema}.orders where id = any(%s)", ids) == sum(
        order_totals(o)["total"] for o in orders)
    assert scalar(db, f"select count(*) from {schema}.orders__line_items as li join {schema}.orders as o "
                      "on li._dlt_root_id = o._dlt_id where o.id = any(%s)", ids) == sum(len(o.lines) for o in orders)
    assert scalar(db, f"select count(*) - count(distinct id) from {schema}.orders__line_items") == 0


def test_child_processes_land_every_record_under_the_callers_settings(database, monkeypatch):
    world = World(seed=61, scale=400, start=START)
    # set after the fork server may have started: children take the caller's environment as it is now
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "procs_")
    monkeypatch.setenv("SEAMLINE_SYNC_PROCESSES", "2")
    with serve_world(world):
        results = sync_all(["woocommerce", "finale"], full_refresh=True, db=database)
    assert [(r.source, r.status) for r in results] == [("woocommerce", "success"), ("finale", "success")]
    woocommerce_matches(database, world, "procs_raw_woocommerce")
    assert results[0].rows >= len(world.woocommerce.orders)
    assert scalar(database, "select count(distinct source) from procs_ops.sync_runs where status = 'success'") == 2


def test_one_process_at_a_time_when_so_configured(database, monkeypatch):
    world = World(seed=62, scale=150, start=START)
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "procs_one_")
    monkeypatch.setenv("SEAMLINE_SYNC_PROCESSES", "1")
    with serve_world(world):
        results = sync_all(["woocommerce", "xero", "finale"], full_refresh=True, db=database)
    assert all(r.ok for r in results), [r.message for r in results]
    spans = sorted(rows(database, "select min(started_at), max(finished_at) from procs_one_ops.sync_runs "
                                  "group by source"))
    assert len(spans) == 3
    for (_, finished), (started, _) in zip(spans, spans[1:], strict=False):
        assert finished <= started  # one sync ended before the next began


def test_a_killed_sync_process_fails_transiently_and_the_rerun_loses_nothing(database, monkeypatch):
    world = World(seed=63, scale=3000, start=START)
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "procs_kill_")
    monkeypatch.setenv("SEAMLINE_SYNC_PROCESSES", "2")
    outcome = {}
    with serve_world(world, faults="woocommerce:slow_ms=150"):  # 30 order pages: about 5 s of walking
        runner = threading.Thread(target=lambda: outcome.update(result=sync_in_process(
            "woocommerce", full_refresh=True, db=database)))
        runner.start()
        child = None
        deadline = time.monotonic() + 60
        while child is None and time.monotonic() < deadline:
            child = next((p for p in multiprocessing.active_children() if p.name == "seamline-sync-woocommerce"),
                         None)
            time.sleep(0.05)
        assert child is not None, "no sync child started"
        time.sleep(2)  # mid-walk
        os.kill(child.pid, signal.SIGKILL)
        runner.join(timeout=60)
        killed = outcome["result"]
        world.advance(1)  # the shop keeps trading
        rerun = sync_in_process("woocommerce", db=database)
    assert killed.status == "failed" and killed.transient
    assert "killed by SIGKILL" in killed.message and killed.source == "woocommerce"
    assert rows(database, "select status, error_message from procs_kill_ops.sync_runs where run_id = %s",
                killed.run_id) == [("failed", killed.message)]
    assert rerun.ok, rerun.message
    woocommerce_matches(database, world, "procs_kill_raw_woocommerce")


def test_zero_processes_runs_in_the_caller_and_a_bad_count_is_refused(monkeypatch):
    monkeypatch.setenv("SEAMLINE_SYNC_PROCESSES", "0")
    seen = []
    monkeypatch.setattr("ingest.processes.sync_source", lambda source, **kw: seen.append((source, os.getpid())))
    sync_in_process("finale")
    assert seen == [("finale", os.getpid())]
    monkeypatch.setenv("SEAMLINE_SYNC_PROCESSES", "two")
    with pytest.raises(ValueError, match="SEAMLINE_SYNC_PROCESSES must be a whole number"):
        settings.sync_processes()


def test_the_longest_sync_starts_first(database, monkeypatch):
    from datetime import timedelta

    from ingest.processes import longest_first
    from seamline.ops import ResourceRun, ensure_ops_schema, record_sync_runs

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "procs_order_")
    ensure_ops_schema(database)

    def ran(run_id, source, hours_ago, seconds, status="success"):
        start = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
        record_sync_runs(database, run_id, [ResourceRun(source, "all", started_at=start, status=status,
                                                        finished_at=start + timedelta(seconds=seconds))], "test")

    ran("r1", "woocommerce", 5, 90)  # its full sync, long ago
    ran("r2", "woocommerce", 1, 20)  # the last one counts
    ran("r2", "xero", 1, 60)
    ran("r2", "finale", 1, 1)
    ran("r3", "lightspeed", 0.5, 500, status="failed")  # only successes say how long a sync takes
    order = longest_first(database, ["woocommerce", "klaviyo", "xero", "lightspeed", "finale"])
    assert order == ["klaviyo", "lightspeed", "xero", "woocommerce", "finale"]  # never synced lead
