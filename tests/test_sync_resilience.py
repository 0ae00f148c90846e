"""The WooCommerce sync under a 429 storm, schema drift and SIGKILL: same data, nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

from conftest import scalar, serve_world

from ingest.sync import sync_source
from sandbox.woocommerce.store import order_totals
from sandbox.world import World
from seamline import settings

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def assert_matches_world(db, world, schema="raw_woocommerce"):
    orders = [o for o in world.woocommerce.orders.values()]
    lines = sum(len(o.lines) for o in orders)
    assert scalar(db, f"select count(*) from {schema}.orders where not is_deleted or id = any(%s)",
                  [o.id for o in orders]) == len(orders)
    assert scalar(db, f"select count(*) - count(distinct id) from {schema}.orders") == 0
    assert scalar(db, f"select sum(total) from {schema}.orders where id = any(%s)", [o.id for o in orders]) == sum(
        order_totals(o)["total"] for o in orders)
    assert scalar(db, f"select count(*) from {schema}.orders__line_items as li join {schema}.orders as o "
                      "on li._dlt_root_id = o._dlt_id where o.id = any(%s)", [o.id for o in orders]) == lines
    assert scalar(db, f"select count(*) - count(distinct id) from {schema}.orders__line_items") == 0


def test_a_429_storm_is_waited_out(database):
    world = World(seed=41, scale=500, start=START)
    with serve_world(world, faults="woocommerce:rate_limit=on"):
        result = sync_source("woocommerce", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) >= 2  # every 4th request is refused with Retry-After: 1
    assert_matches_world(database, world)


def test_schema_drift_lands_and_is_reported(database):
    world = World(seed=42, scale=200, start=START)
    with serve_world(world):
        assert sync_source("woocommerce", full_refresh=True, db=database).ok

    reports = {}
    for drift in ("new_field", "type_change", "object_to_list"):
        changed = world.advance(2)["woocommerce"]["orders"]
        with serve_world(world, faults=f"woocommerce:drift={drift}"):
            result = sync_source("woocommerce", db=database)
        assert result.status == "success", (drift, result.message)
        orders_run = next(r for r in result.runs if r.resource == "orders")
        assert orders_run.rows_loaded == len(changed)
        reports[drift] = orders_run.schema_changes

    assert {"table": "orders", "column": "fulfilment_partner", "change": "new_column"} in reports["new_field"]
    assert {"table": "orders", "column": "delivery_slot__window", "change": "new_column"} in reports["new_field"]
    # an id turning into text cannot be cast: dlt keeps it in a variant column, the value intact
    assert {"table": "orders", "column": "customer_id__v_text", "change": "type_change"} in reports["type_change"]
    assert scalar(database, "select count(*) from raw_woocommerce.orders where customer_id__v_text like 'C-%'") > 0
    # money sent as a number still lands in the numeric column, exactly
    live = {o.id: order_totals(o)["total"] for o in world.woocommerce.orders.values()}
    assert scalar(database, "select sum(total) from raw_woocommerce.orders where id = any(%s)", list(live)) == sum(
        live.values())
    assert {"table": "orders__shipping", "change": "new_table"} in reports["object_to_list"]
    with database.cursor() as cur:
        cur.execute("select schema_changes from ops.sync_runs where resource = 'orders' "
                    "and schema_changes @> '[{\"change\": \"type_change\"}]'")
        assert cur.fetchone() is not None  # the run record keeps it for the operator


def test_sigkill_mid_sync_then_rerun_loses_and_doubles_nothing(database, tmp_path):
    world = World(seed=43, scale=3000, start=START)
    # its own schemas and local state, as a separate installation would have
    env_base = {**os.environ, "DATABASE_URL": database.url, "PYTHONUNBUFFERED": "1",
                "SEAMLINE_SCHEMA_PREFIX": "crash_", "SEAMLINE_HOME": str(tmp_path), "SEAMLINE_SYNC_LOCK_WAIT": "30",
                # the shop force-deletes an order between attempts: look for those on every run
                "SOURCES__WOOCOMMERCE__RECONCILE_INTERVAL_HOURS": "0"}
    with serve_world(world, faults="woocommerce:slow_ms=20") as server:
        env = {**env_base, **server.settings()}
        cmd = [sys.executable, "-m", "flows.cli", "sync", "woocommerce"]
        killed = 0
        for delay in (1.5, 3.0, 4.5, 6.0):
            proc = subprocess.Popen(cmd, env=env, cwd=settings.PROJECT_ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.wait(timeout=60)
            world.advance(1)  # the shop keeps trading between attempts
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=settings.PROJECT_ROOT)
    assert killed >= 1
    assert final.returncode == 0, final.stderr
    assert_matches_world(database, world, schema="crash_raw_woocommerce")


# a child that dies the moment a COPY has committed, before dlt marks the job done: the window
# in which a kill used to leave a job that could never load again (a duplicate _dlt_id)
DIE_AFTER_COPY = """
import os, sys
from dlt.destinations.impl.postgres import postgres
run = postgres.PostgresCsvCopyJob.run
def run_then_die(self):
    run(self)
    if os.path.basename(self._file_path).startswith(os.environ["DIE_AFTER_TABLE"] + "."):
        os._exit(137)
postgres.PostgresCsvCopyJob.run = run_then_die
from flows.cli import main
sys.exit(main(["sync", "woocommerce"]))
"""


def test_a_load_killed_right_after_a_copy_commits_finishes_on_the_next_run(database, tmp_path):
    world = World(seed=44, scale=300, start=START)
    # the patch above lives in the CLI's process: the sync runs there too
    env = {**os.environ, "DATABASE_URL": database.url, "SEAMLINE_SCHEMA_PREFIX": "copykill_",
           "SEAMLINE_HOME": str(tmp_path), "SEAMLINE_SYNC_PROCESSES": "0"}
    with serve_world(world) as server:
        env.update(server.settings())
        for table in ("orders__line_items", "orders"):  # a child table's staging copy, then a root's
            child = subprocess.run([sys.executable, "-c", DIE_AFTER_COPY], env={**env, "DIE_AFTER_TABLE": table},
                                   capture_output=True, text=True, timeout=300, cwd=settings.PROJECT_ROOT)
            assert child.returncode == 137, child.stderr[-2000:]
            world.advance(1)
        final = subprocess.run([sys.executable, "-m", "flows.cli", "sync", "woocommerce"], env=env,
                               capture_output=True, text=True, timeout=300, cwd=settings.PROJECT_ROOT)
    assert final.returncode == 0, final.stderr[-3000:]
    assert "reloading" in final.stderr and "orders" in final.stderr
    assert_matches_world(database, world, schema="copykill_raw_woocommerce")  # orders and their lines, once
