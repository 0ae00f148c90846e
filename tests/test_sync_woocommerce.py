"""The WooCommerce source against the sandbox: complete, incremental to the row, and safe."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from conftest import scalar, serve_world

from ingest.sync import dataset_lock, sync_source
from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def shop(database):
    world = World(seed=21, scale=400, start=START)
    with serve_world(world):
        result = sync_source("woocommerce", full_refresh=True, db=database)
        assert result.status == "success", result.message
        yield world, result


def test_full_sync_equals_the_world(shop, database):
    world, result = shop
    orders = world.woocommerce.orders.values()
    assert scalar(database, "select count(*) from raw_woocommerce.orders") == len(orders)
    assert scalar(database, "select sum(id) from raw_woocommerce.orders") == sum(o.id for o in orders)
    assert scalar(database, "select sum(total) from raw_woocommerce.orders") == sum(order_totals(o)["total"] for o in orders)
    assert scalar(database, "select max(date_modified_gmt) from raw_woocommerce.orders") == max(o.modified for o in orders)
    assert scalar(database, "select count(*) from raw_woocommerce.orders__line_items") == sum(len(o.lines) for o in orders)
    assert scalar(database, "select sum(quantity * price) from raw_woocommerce.orders__line_items") == sum(
        line.quantity * line.price for o in orders for line in o.lines)
    assert scalar(database, "select count(*) from raw_woocommerce.customers") == len(world.woocommerce.customers)
    assert scalar(database, "select count(*) from raw_woocommerce.products") == len(world.woocommerce.products)
    runs = {r.resource: r for r in result.runs}
    assert runs["orders"].rows_loaded == len(orders)
    # 400 orders at 100 a page: 4 pages plus a page for the trash pass and keyset overlap
    assert runs["orders"].api_calls <= 4 + 3
    assert runs["orders"].cursor_after == max(o.modified for o in orders).strftime("%Y-%m-%dT%H:%M:%S")


def test_run_is_recorded_in_ops(shop, database):
    _, result = shop
    with database.cursor() as cur:
        cur.execute("select resource, status, rows_loaded, api_calls from ops.sync_runs where run_id = %s "
                    "order by resource", (result.run_id,))
        rows = cur.fetchall()
    assert rows == sorted((r.resource, "success", r.rows_loaded, r.api_calls) for r in result.runs)


def test_incremental_loads_exactly_the_changed_rows(shop, database, monkeypatch):
    world, _ = shop
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__RECONCILE_INTERVAL_HOURS", "0")
    changes = world.advance(6)["woocommerce"]
    with serve_world(world):
        result = sync_source("woocommerce", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    for resource in ("orders", "customers", "products"):
        assert runs[resource].rows_loaded == len(changes[resource]), resource
    last_load = scalar(database, "select max(load_id) from raw_woocommerce._dlt_loads where status = 0")
    with database.cursor() as cur:
        cur.execute("select id from raw_woocommerce.orders where _dlt_load_id = %s", (last_load,))
        assert {row[0] for row in cur.fetchall()} == changes["orders"]
    # cost in proportion to change: at most changed/page size + a small constant per stream,
    # plus, when it is due, the key reconciliation (ids only: one call per 100 orders)
    reconcile_calls = -(-len(world.woocommerce.orders) // 100) + 1 + len(changes["orders_deleted"])
    assert runs["orders"].api_calls <= len(changes["orders"]) // 100 + 3 + reconcile_calls
    assert runs["products"].api_calls <= 2
    # the force-deleted order vanished from every listing; reconciliation flags it, values kept
    assert runs["orders"].deletes_flagged == len(changes["orders_deleted"]) == 1
    (gone,) = changes["orders_deleted"]
    assert scalar(database, "select is_deleted and total > 0 from raw_woocommerce.orders where id = %s", gone)
    assert scalar(database, "select count(*) from raw_woocommerce.orders__line_items as li join "
                            "raw_woocommerce.orders as o on li._dlt_root_id = o._dlt_id where o.id = %s", gone) > 0
    trashed = [o.id for o in world.woocommerce.orders.values() if o.trashed]
    assert scalar(database, "select count(*) from raw_woocommerce.orders where is_deleted") == len(trashed) + 1
    assert scalar(database, "select bool_and(deleted_seen_at is not null) from raw_woocommerce.orders "
                            "where is_deleted")
    live = {o.id: order_totals(o)["total"] for o in world.woocommerce.orders.values()}
    assert scalar(database, "select sum(total) from raw_woocommerce.orders where id = any(%s)", list(live)) == sum(
        live.values())
    with serve_world(world):
        again = sync_source("woocommerce", db=database)  # nothing changed since: nothing loads
    assert again.status == "success" and again.rows == 0


def test_a_record_stamped_in_the_cursors_own_second_is_not_lost(shop, database):
    world, _ = shop
    cursor = scalar(database, "select max(date_modified_gmt) from raw_woocommerce.orders")
    # a late commit: the store saves an order with the same second as the newest one we hold
    order = next(o for o in world.woocommerce.orders.values() if o.modified < cursor and not o.trashed)
    with world.lock:
        order.status = "completed"
        order.modified = cursor
        world.woocommerce.version += 1
    with serve_world(world):
        result = sync_source("woocommerce", db=database)
    assert result.status == "success"
    assert {r.resource: r.rows_loaded for r in result.runs}["orders"] == 1
    assert scalar(database, "select status from raw_woocommerce.orders where id = %s", order.id) == "completed"


def test_second_writer_is_refused_while_one_holds_the_dataset(shop, database):
    world, _ = shop
    with serve_world(world), dataset_lock(database, "woocommerce", 0) as held:
        assert held
        result = sync_source("woocommerce", db=database)
    assert result.status == "busy"
    assert "another sync is writing raw_woocommerce" in result.message


def test_wrong_credentials_fail_in_one_clear_line(shop, database):
    world, _ = shop
    with serve_world(world):
        os.environ["SOURCES__WOOCOMMERCE__CONSUMER_SECRET"] = "cs_definitely_wrong_9f"
        result = sync_source("woocommerce", db=database)
    assert result.status == "failed"
    assert result.message.startswith("woocommerce: the API refused the credentials: HTTP 401")
    assert "cs_definitely_wrong_9f" not in result.message
    assert scalar(database, "select count(*) from ops.sync_runs where run_id = %s and status = 'failed'",
                  result.run_id) >= 1


def test_transient_faults_are_retried_to_the_same_data(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=22, scale=900, start=START)
    with serve_world(world, faults="woocommerce:error_rate=0.25,drop_rate=0.1"):
        result = sync_source("woocommerce", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) > 0
    assert scalar(database, "select count(*) from raw_woocommerce.orders") == len(world.woocommerce.orders)
    assert scalar(database, "select sum(total) from raw_woocommerce.orders") == sum(
        order_totals(o)["total"] for o in world.woocommerce.orders.values())
