"""The Lightspeed X-Series source against the sandbox: complete, incremental by version, and safe."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest
from conftest import scalar, serve_world

from ingest.sync import sync_source, sync_sources
from sandbox.lightspeed.api import LightspeedAPI
from sandbox.lightspeed.store import sale_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
RESOURCES = ("sales", "customers", "products", "inventory", "outlets")
RAW = "raw_lightspeed"


def ids(db, sql: str, *params) -> set:
    with db.cursor() as cur:
        cur.execute(sql, params or None)
        return {row[0] for row in cur.fetchall()}


def assert_matches_world(db, world) -> None:
    """Every stream equals the store: counts, keys, money, versions, and the soft deletes."""
    store = world.lightspeed
    sales = list(store.sales.values())
    totals = [sale_totals(s) for s in sales]
    assert ids(db, f"select id from {RAW}.sales") == {store.uid("sales", s.id) for s in sales}
    assert scalar(db, f"select count(*) from {RAW}.sales") == len(sales)
    assert scalar(db, f"select sum(total_price) from {RAW}.sales") == sum(t["total_price"] for t in totals)
    assert scalar(db, f"select sum(total_tax) from {RAW}.sales") == sum(t["total_tax"] for t in totals)
    assert scalar(db, f"select sum(version) from {RAW}.sales") == sum(s.version for s in sales)
    assert scalar(db, f"select max(updated_at) from {RAW}.sales") == max(s.updated for s in sales)
    assert scalar(db, f"select count(*) from {RAW}.sales where status = 'VOIDED'") == sum(
        s.status == "VOIDED" for s in sales)
    # the child tables hang off the current version of each sale, none left over from older ones
    assert scalar(db, f"select count(*) from {RAW}.sales__line_items") == sum(len(s.lines) for s in sales)
    assert scalar(db, f"select sum(quantity * price) from {RAW}.sales__line_items") == sum(
        line.quantity * line.price for s in sales for line in s.lines)
    assert scalar(db, f"select count(*) from {RAW}.sales__payments") == sum(len(s.payments) for s in sales)
    assert scalar(db, f"select sum(amount) from {RAW}.sales__payments") == sum(
        p.amount for s in sales for p in s.payments)

    customers = list(store.customers.values())
    assert ids(db, f"select id from {RAW}.customers") == {store.uid("customers", c.id) for c in customers}
    with db.cursor() as cur:
        cur.execute(f"select id, email, is_deleted from {RAW}.customers")
        held = {row[0]: row[1:] for row in cur.fetchall()}
    assert held == {store.uid("customers", c.id): (c.email, c.deleted is not None) for c in customers}

    products = list(store.products.values())
    assert ids(db, f"select id from {RAW}.products") == {store.uid("products", p.id) for p in products}
    assert scalar(db, f"select sum(price_including_tax) from {RAW}.products") == sum(p.price_incl for p in products)
    assert scalar(db, f"select sum(price_excluding_tax) from {RAW}.products") == sum(p.price_excl for p in products)
    assert scalar(db, f"select count(*) from {RAW}.products where is_deleted") == sum(
        p.deleted is not None for p in products)

    inventory = list(store.inventory.values())
    assert ids(db, f"select id from {RAW}.inventory") == {store.uid("inventory", i.id) for i in inventory}
    assert scalar(db, f"select sum(inventory_level) from {RAW}.inventory") == sum(i.level for i in inventory)
    assert ids(db, f"select name from {RAW}.outlets") == {o.name for o in store.outlets.values()}


@pytest.fixture(scope="module")
def shop(database):
    world = World(seed=51, scale=300, start=START)
    with serve_world(world):
        result = sync_source("lightspeed", full_refresh=True, db=database)
        assert result.status == "success", result.message
        yield world, result


def test_full_sync_equals_the_world(shop, database):
    world, result = shop
    assert_matches_world(database, world)
    runs = {r.resource: r for r in result.runs}
    assert set(runs) == set(RESOURCES)  # registers are optional and off by default
    store = world.lightspeed
    assert runs["sales"].rows_loaded == len(store.sales)
    # 300 sales at 200 a page: 2 pages and the empty page that ends the walk
    assert runs["sales"].api_calls == -(-len(store.sales) // 200) + 1
    for name in RESOURCES:
        records = getattr(store, name).values()
        assert runs[name].cursor_after == str(max(r.version for r in records)), name
    # money is exact, with Lightspeed's 5 decimals, in numeric columns
    assert scalar(database, "select data_type from information_schema.columns where table_schema = %s "
                            "and table_name = 'sales__line_items' and column_name = 'price'", RAW) == "numeric"


def test_incremental_loads_exactly_the_changed_records(shop, database):
    world, _ = shop
    changes = world.advance(6)["lightspeed"]
    assert changes["sales"] and changes["customers_deleted"] and changes["products_deleted"]
    with serve_world(world):
        result = sync_source("lightspeed", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    last_load = scalar(database, f"select max(load_id) from {RAW}._dlt_loads where status = 0")
    for name in RESOURCES:
        assert runs[name].rows_loaded == len(changes[name]), name
        assert ids(database, f"select id from {RAW}.{name} where _dlt_load_id = %s", last_load) == changes[name]
        # paging is the cursor: changed/200 pages plus the empty page
        assert runs[name].api_calls <= len(changes[name]) // 200 + 2, name
    assert_matches_world(database, world)
    with serve_world(world):
        again = sync_source("lightspeed", db=database)  # nothing changed since: nothing loads
    assert again.status == "success" and again.rows == 0
    assert all(r.api_calls == 1 for r in again.runs)


def test_soft_deletes_arrive_flagged_with_their_last_values(shop, database):
    world, _ = shop
    store = world.lightspeed
    gone = [c for c in store.customers.values() if c.deleted is not None]
    assert gone
    for customer in gone:
        with database.cursor() as cur:
            cur.execute(f"select is_deleted, deleted_seen_at is not null, deleted_at, email, customer_code, "
                        f"first_name from {RAW}.customers where id = %s", (store.uid("customers", customer.id),))
            row = cur.fetchone()
        assert row == (True, True, customer.deleted, customer.email, customer.code, customer.first_name)
    product = next(p for p in store.products.values() if p.deleted is not None)
    assert scalar(database, f"select is_deleted and price_including_tax = %s from {RAW}.products where id = %s",
                  product.price_incl, store.uid("products", product.id))
    assert scalar(database, f"select count(*) from {RAW}.sales where is_deleted") == 0
    assert not scalar(database, f"select bool_or(deleted_seen_at is not null) from {RAW}.customers where not is_deleted")


def test_wrong_credentials_fail_in_one_clear_line_and_the_other_source_still_loads(shop, database):
    world, _ = shop
    with serve_world(world):
        os.environ["SOURCES__LIGHTSPEED__ACCESS_TOKEN"] = "lsxs_pt_definitely_wrong_7d1e"
        bad, other = sync_sources(["lightspeed", "finale"], db=database)
    assert bad.status == "failed"
    assert bad.message.startswith("lightspeed: the API refused the credentials: HTTP 401")
    assert "\n" not in bad.message and "lsxs_pt_definitely_wrong_7d1e" not in bad.message
    assert scalar(database, "select count(*) from ops.sync_runs where run_id = %s and status = 'failed'",
                  bad.run_id) >= 1
    assert other.source == "finale" and other.status == "success", other.message


class CatchUpClock:
    """A limiter clock for the sandbox that starts `lag` seconds behind real time at its first reading
    and catches up within `span` seconds. A rate-limit window of `lag + span` seconds then ends `span`
    real seconds after it starts, and the reset time the API announces is true on the real clock, so
    a client that waits for it waits seconds, not minutes."""

    def __init__(self, lag: float, span: float):
        self.lag, self.span, self.started = lag, span, None

    def __call__(self) -> float:
        now = time.time()
        if self.started is None:
            self.started = now
        return now - self.lag * max(0.0, 1 - (now - self.started) / self.span)


def test_a_429_is_waited_out_until_its_http_date(database, monkeypatch):
    # the first 5-minute window ends 3s after the sync's first request
    monkeypatch.setattr(LightspeedAPI, "time_source", CatchUpClock(lag=297, span=3))
    monkeypatch.setenv("SOURCES__LIGHTSPEED__MAX_PACE_SECONDS", "0")  # no pacing: run into the limit
    world = World(seed=52, scale=200, start=START)
    with serve_world(world, faults="lightspeed:rate_limit=6"):  # the sync needs 10 requests
        result = sync_source("lightspeed", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 1  # one 429, waited out until its Retry-After date
    assert_matches_world(database, world)


def test_pacing_slows_down_before_the_limit_is_hit(database, monkeypatch):
    monkeypatch.setattr(LightspeedAPI, "time_source", CatchUpClock(lag=297, span=3))
    monkeypatch.setenv("SOURCES__LIGHTSPEED__MAX_PACE_SECONDS", "4")
    world = World(seed=52, scale=200, start=START)
    started = time.monotonic()
    with serve_world(world, faults="lightspeed:rate_limit=6"):
        result = sync_source("lightspeed", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 0  # X-RateLimit-Remaining said slow down: no 429
    assert time.monotonic() - started >= 3
    assert_matches_world(database, world)


def test_transient_faults_are_retried_to_the_same_data(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=53, scale=400, start=START)
    with serve_world(world, faults="lightspeed:error_rate=0.25,drop_rate=0.1"):
        result = sync_source("lightspeed", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) > 0
    assert_matches_world(database, world)


def test_schema_drift_lands_and_is_reported(database):
    world = World(seed=54, scale=200, start=START)
    with serve_world(world):
        assert sync_source("lightspeed", full_refresh=True, db=database).ok
    reports = {}
    for drift in ("new_field", "type_change"):
        changes = world.advance(2)["lightspeed"]
        with serve_world(world, faults=f"lightspeed:drift={drift}"):
            result = sync_source("lightspeed", db=database)
        assert result.status == "success", (drift, result.message)
        runs = {r.resource: r for r in result.runs}
        for name in RESOURCES:
            assert runs[name].rows_loaded == len(changes[name]), (drift, name)
        reports[drift] = [c for r in result.runs for c in r.schema_changes]
    assert {"table": "sales", "column": "ecom_custom_charges__total", "change": "new_column"} in reports["new_field"]
    # a stock level sent as "150.00000" cannot be a bigint: dlt keeps it in a variant column, value intact
    assert {"table": "inventory", "column": "inventory_level__v_text", "change": "type_change"} in reports["type_change"]
    with database.cursor() as cur:
        cur.execute(f"select id, inventory_level__v_text from {RAW}.inventory where inventory_level__v_text is not null")
        texts = dict(cur.fetchall())
    levels = {world.lightspeed.uid("inventory", i.id): i.level for i in world.lightspeed.inventory.values()}
    assert texts and all(int(float(text)) == levels[rid] for rid, text in texts.items())
    # money sent as strings still lands, exactly, in the numeric columns
    sales = list(world.lightspeed.sales.values())
    assert scalar(database, f"select sum(total_price) from {RAW}.sales") == sum(
        sale_totals(s)["total_price"] for s in sales)
    with database.cursor() as cur:
        cur.execute("select 1 from ops.sync_runs where source = 'lightspeed' and resource = 'inventory' "
                    "and schema_changes @> '[{\"change\": \"type_change\"}]'")
        assert cur.fetchone() is not None  # the run record keeps it for the operator


def test_a_sale_changed_mid_walk_lands_once_and_its_change_with_the_next_run(database, monkeypatch):
    """Paging by version meets a sale again when it changes during the walk (a new, higher
    version). One load holds one version of a record: the newer waits for the next run."""
    from ingest.lightspeed.helpers import LightspeedClient

    world = World(seed=24, scale=1200, start=START)
    versions = sorted(sale.version for sale in world.lightspeed.sales.values())
    late = versions[int(len(versions) * 0.97)]  # the shop changes recent sales: move once the walk is near them
    read: set[str] = set()
    changed: set = set()
    get_page = LightspeedClient.get_page

    def shop_moves_during_the_walk(self, path, params, resource, after):
        body = get_page(self, path, params, resource, after)
        if resource == "sales" and not changed:
            read.update(row["id"] for row in body["data"])
            if body["data"] and body["version"]["max"] >= late:
                changed.update(world.advance(24)["lightspeed"]["sales"])
        return body

    with serve_world(world):
        monkeypatch.setattr(LightspeedClient, "get_page", shop_moves_during_the_walk)
        first = sync_source("lightspeed", full_refresh=True, db=database)
        monkeypatch.setattr(LightspeedClient, "get_page", get_page)
        assert first.status == "success", first.message
        assert read & changed  # sales the walk had read, then changed
        assert scalar(database, f"select count(*) - count(distinct id) from {RAW}.sales") == 0
        second = sync_source("lightspeed", db=database)
        assert second.status == "success", second.message
    assert_matches_world(database, world)
