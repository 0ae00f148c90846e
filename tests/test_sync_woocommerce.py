"""The WooCommerce source against the sandbox: complete, incremental to the row, and safe."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from conftest import rows, scalar, serve_world

from ingest.cursor import parse_utc
from ingest.http import SyncStats
from ingest.pipeline import make_pipeline, make_source
from ingest.sync import dataset_lock, sync_source
from sandbox.woocommerce.render import gmt
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
    # empty tables: the first load COPYs straight into them (no staging, no merge)
    assert dispositions(database, "orders", "orders__line_items") == ["append", "append"]
    # ... and the indexes the next load's merge deletes by are there already
    assert {"orders__id__merge", "orders__line_items___dlt_root_id__merge"} <= {name for (name,) in rows(
        database, "select indexname from pg_indexes where schemaname = 'raw_woocommerce'")}
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
    known = max(world.woocommerce.customers)
    changes = world.advance(6)["woocommerce"]
    with serve_world(world):
        result = sync_source("woocommerce", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    for resource in ("orders", "products"):
        assert runs[resource].rows_loaded == len(changes[resource]), resource
    assert loaded_ids(database, "orders") == changes["orders"]
    assert dispositions(database, "orders", "orders__line_items") == ["merge", "merge"]  # and from now on
    # each merge ANALYZEd its staging copy first (ingest.pipeline), so its delete could use the index
    assert scalar(database, "select last_analyze is not null from pg_stat_user_tables "
                            "where schemaname = 'raw_woocommerce_staging' and relname = 'orders__line_items'")
    assert scalar(database, "select count(*) from raw_woocommerce.orders__line_items as li join raw_woocommerce.orders"
                            " as o on li._dlt_root_id = o._dlt_id where o.id = any(%s)", list(world.woocommerce.orders)
                  ) == sum(len(o.lines) for o in world.woocommerce.orders.values())  # changed orders' lines replaced
    # customers between full scans: the new sign-ups, and the changed customers the changed orders name
    new, named = read_between_full_scans(world, changes, known)
    assert runs["customers"].rows_loaded == len(new | (changes["customers"] & named)) >= len(new) > 0
    assert runs["customers"].api_calls == len(new) // 100 + 1 + -(-len(named) // 100)
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


def dispositions(db, *tables: str) -> list[str]:
    schema = make_pipeline("woocommerce", db).default_schema
    return [schema.tables[table]["write_disposition"] for table in tables]


def read_between_full_scans(world, changes, known: int) -> tuple[set[int], set[int]]:
    """What an incremental run reads between full scans: (the customers with an id above `known`,
    the other customers named by the changed orders)."""
    store = world.woocommerce
    new = {cid for cid in store.customers if cid > known}
    named = {store.orders[oid].customer_id for oid in changes["orders"]} - {0} - new
    return new, named


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


def test_customers_come_with_their_orders_and_the_rest_with_the_next_full_scan(database, monkeypatch):
    """Between full scans a run reads new sign-ups and the customers its changed orders name (the
    endpoint has no modified filter); a profile edit without an order waits for the full scan."""
    world = World(seed=23, scale=1500, start=START)
    store = world.woocommerce
    with serve_world(world):
        assert sync_source("woocommerce", full_refresh=True, db=database).ok
        known = max(store.customers)
        changes = world.advance(30)["woocommerce"]
        named_by_orders = {store.orders[oid].customer_id for oid in changes["orders"]} - {0}
        with world.lock:  # one customer edits their profile and orders; another only edits theirs
            ordering = next(store.customers[cid] for cid in sorted(named_by_orders)
                            if cid <= known and cid not in changes["customers"])
            quiet = next(c for c in store.customers.values() if c.id <= known and c.id not in named_by_orders
                         and c.id not in changes["customers"])
            for customer in (ordering, quiet):
                customer.billing = replace(customer.billing, line1=f"{customer.id} Edited Street")
                customer.modified = world.clock.now().replace(microsecond=0)
            store.version += 1
        changed = changes["customers"] | {ordering.id, quiet.id}
        new, named = read_between_full_scans(world, changes, known)
        stale = changed - new - named
        assert ordering.id in named and quiet.id in stale and len(new) > 0

        result = sync_source("woocommerce", db=database)
        assert result.ok, result.message
        run = {r.resource: r for r in result.runs}["customers"]
        assert run.api_calls == len(new) // 100 + 1 + -(-len(named) // 100) <= len(changed) // 100 + 5
        assert loaded_ids(database, "customers") == new | (changed & named)
        assert run.rows_loaded == len(new | (changed & named))
        assert scalar(database, "select count(distinct email) from raw_woocommerce.customers") == len(
            {c.email for c in store.customers.values()})
        assert address(database, ordering.id) == f"{ordering.id} Edited Street"
        assert out_of_date(database, store) == stale

        again = sync_source("woocommerce", db=database)  # within the interval: still not read
        assert {r.resource: r.rows_loaded for r in again.runs}["customers"] == 0
        assert out_of_date(database, store) == stale

        monkeypatch.setenv("SOURCES__WOOCOMMERCE__CUSTOMERS_FULL_SCAN_HOURS", "0")
        state = make_pipeline("woocommerce", database).state["sources"]["woocommerce"]["resources"]["customers"]
        scan = sync_source("woocommerce", db=database)
        assert scan.ok, scan.message
        run = {r.resource: r for r in scan.runs}["customers"]
        assert run.api_calls == -(-len(store.customers) // 100)
        assert out_of_date(database, store) == set()
        assert address(database, quiet.id) == f"{quiet.id} Edited Street"
        # the scan reloads what changed since the last one began, less what the overlap window holds
        floor = parse_utc(state["full_scan_floor"])
        boundary = state["cursor"]["boundary"]
        reread = {c.id for c in store.customers.values()
                  if c.modified >= floor and boundary.get(str(c.id)) != gmt(c.modified)}
        assert stale <= reread and loaded_ids(database, "customers") == reread and run.rows_loaded == len(reread)

        # without the orders resource there are no ids to follow: the full scan, due or not
        monkeypatch.delenv("SOURCES__WOOCOMMERCE__CUSTOMERS_FULL_SCAN_HOURS")
        alone = SyncStats()
        make_pipeline("woocommerce", database).run(make_source("woocommerce", stats=alone).with_resources("customers"))
    assert alone.of("customers").api_calls == -(-len(store.customers) // 100) and not alone.of("orders").api_calls

def loaded_ids(database, table: str) -> set[int]:
    """The ids the last load wrote to a raw table."""
    last_load = scalar(database, "select load_id from raw_woocommerce._dlt_loads where status = 0 "
                                 "order by inserted_at desc limit 1")
    return {row[0] for row in rows(database, f"select id from raw_woocommerce.{table} where _dlt_load_id = %s",
                                   last_load)}


def address(database, customer_id: int) -> str:
    return scalar(database, "select billing__address_1 from raw_woocommerce.customers where id = %s", customer_id)


def out_of_date(database, store) -> set[int]:
    """Customers whose raw row is not the store's current version."""
    held = dict(rows(database, "select id, date_modified_gmt from raw_woocommerce.customers"))
    return {c.id for c in store.customers.values() if held.get(c.id) != c.modified}


def test_merged_tables_have_the_indexes_their_merges_use(shop, database):
    # dlt deletes replaced roots by primary key and their child rows by _dlt_root_id: both indexed
    indexed = {(table, definition.split("(")[-1].rstrip(")")) for table, definition in rows(
        database, "select tablename, indexdef from pg_indexes where schemaname = 'raw_woocommerce' "
                  "and indexname like '%%__merge%%'")}
    assert {("orders", "id"), ("orders", "_dlt_load_id"), ("customers", "id"), ("products", "id"),
            ("orders__line_items", "_dlt_root_id"),
            ("orders__meta_data", "_dlt_root_id"), ("products__categories", "_dlt_root_id")} <= indexed
    # and the deletes of an incremental merge use them instead of reading every line
    with database.cursor() as cur:
        cur.execute("set enable_seqscan = off")  # a 400-order table is small enough to scan: ask for the index
        cur.execute("explain delete from raw_woocommerce.orders__line_items as d where exists "
                    "(select 1 from raw_woocommerce.orders as s where d._dlt_root_id = s._dlt_id and s.id = 1)")
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("reset enable_seqscan")
    assert "orders__line_items___dlt_root_id__merge" in plan


def test_an_order_changed_mid_walk_lands_once_and_its_change_with_the_next_run(database, monkeypatch):
    """The keyset walk meets an order again when it changes while the walk is under way (it moves
    behind the pages already read). One load holds one version of a record: the second waits for
    the next run, whose cursor stops short of it."""
    from ingest.woocommerce.helpers import WooCommerceClient

    world = World(seed=23, scale=300, start=START)
    first_page: set[int] = set()
    changed: set[int] = set()
    get_page = WooCommerceClient.get_page

    def shop_moves_after_the_first_page(self, url, params, resource):
        items, links = get_page(self, url, params, resource)
        if resource == "orders" and not first_page:
            first_page.update(order["id"] for order in items)
            changed.update(world.advance(24)["woocommerce"]["orders"])
        return items, links

    with serve_world(world):
        monkeypatch.setattr(WooCommerceClient, "get_page", shop_moves_after_the_first_page)
        first = sync_source("woocommerce", full_refresh=True, db=database)
        monkeypatch.setattr(WooCommerceClient, "get_page", get_page)
        assert first.status == "success", first.message
        assert first_page & changed  # the walk read orders on its first page that then changed
        assert scalar(database, "select count(*) - count(distinct id) from raw_woocommerce.orders") == 0
        second = sync_source("woocommerce", db=database)
        assert second.status == "success", second.message
    landed = dict(rows(database, "select id, date_modified_gmt from raw_woocommerce.orders"))
    assert landed == {o.id: o.modified for o in world.woocommerce.orders.values()}
    assert scalar(database, "select count(*) from raw_woocommerce.orders__line_items") == \
        sum(len(o.lines) for o in world.woocommerce.orders.values())


def test_a_first_load_leaves_statistics_and_merges_probe_the_index(shop, database):
    # every raw table has statistics after the loads (first loads ANALYZEd, not left to autovacuum)
    assert scalar(database, "select count(*) from pg_stat_user_tables where schemaname = 'raw_woocommerce' "
                            "and last_analyze is null and last_autoanalyze is null") == 0
    # so the merge's delete of a few replaced orders probes the merge index instead of scanning
    with database.cursor() as cur:
        cur.execute("create temp table changed as select id from raw_woocommerce.orders order by id limit 20")
        cur.execute("analyze changed")
        cur.execute("set random_page_cost = 1.1")  # as the loader's merges run (ingest.pipeline)
        cur.execute("explain delete from raw_woocommerce.orders as d where exists "
                    "(select 1 from changed as s where d.id = s.id)")
        plan = "\n".join(line for (line,) in cur.fetchall())
    assert "orders__id__merge" in plan and "Seq Scan on orders" not in plan, plan
