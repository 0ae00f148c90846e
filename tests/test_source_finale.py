"""The Finale Inventory source against the sandbox: column-major, windowed, complete and safe."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import rows, scalar, serve_world

from ingest.http import SyncStats
from ingest.pipeline import make_pipeline, make_source
from ingest.sync import sync_source, sync_sources
from sandbox.finale.api import FinaleAPI
from sandbox.finale.render import inventory_rows
from sandbox.world import World

# Filter windows run from a date up to the real now, so the world's history ends two days before it
# (its clock must stay behind the real one while it advances): the number of windows, and so of API
# calls, is then the same whenever the tests run.
START = (datetime.now(timezone.utc) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
INITIAL = START - timedelta(days=740)  # before the account's oldest record (suppliers: 730 days back)
RAW = "raw_finale"
FILTERED = {"products": "product", "orders": "order", "shipments": "shipment"}


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


@pytest.fixture(scope="module", autouse=True)
def finale_settings():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOURCES__FINALE__INITIAL_DATE", INITIAL.strftime("%Y-%m-%d"))
        # these tests are about data: the sandbox's (unverified, configurable) 120 GET a minute would
        # have the source pace itself through them. The limit tests set their own with the fault.
        mp.setattr(FinaleAPI, "get_per_minute", 100_000)
        yield


def windows(since: datetime, now: datetime | None = None) -> int:
    """How many `lastUpdatedDate` windows of 30 days cover since..now (the last one open)."""
    now = now or datetime.now(timezone.utc)
    count = 1
    while since + timedelta(days=30) < now:
        since += timedelta(days=30)
        count += 1
    return count


def ids(db, sql: str, *params) -> set:
    return {row[0] for row in rows(db, sql, *params)}


def assert_matches_world(db, world, raw: str = RAW) -> None:
    """Every stream equals the account: keys, money, quantities, dates, and the stock snapshot."""
    store = world.finale
    products = list(store.products.values())
    assert ids(db, f"select product_id from {raw}.products") == set(store.products)
    assert scalar(db, f"select count(*) from {raw}.products") == len(products)
    assert scalar(db, f"select sum(cost) from {raw}.products") == sum(p.cost for p in products)
    assert scalar(db, f"select sum(price) from {raw}.products__price_list") == sum(p.price for p in products)
    assert scalar(db, f"select max(last_updated_date) from {raw}.products") == max(p.updated for p in products)

    orders = list(store.orders.values())
    assert dict(rows(db, f"select order_id, status_id from {raw}.orders")) == {o.id: o.status for o in orders}
    assert dict(rows(db, f"select order_id, order_type_id from {raw}.orders")) == {o.id: o.type_id for o in orders}
    assert scalar(db, f"select count(*) from {raw}.orders__order_item_list") == sum(len(o.items) for o in orders)
    assert scalar(db, f"select sum(quantity * unit_price) from {raw}.orders__order_item_list") == sum(
        i.quantity * i.unit_price for o in orders for i in o.items)
    assert scalar(db, f"select sum(extract(epoch from last_updated_date)) from {raw}.orders") == sum(
        Decimal(int(o.updated.timestamp())) for o in orders)

    shipments = list(store.shipments.values())
    assert dict(rows(db, f"select shipment_id, status_id from {raw}.shipments")) == {
        s.id: s.status for s in shipments}
    assert scalar(db, f"select sum(quantity) from {raw}.shipments__shipment_item_list") == sum(
        q for s in shipments for _, q, _ in s.items)

    assert ids(db, f"select party_id from {raw}.suppliers") == {
        p.id for p in store.parties.values() if p.role == "SUPPLIER"}
    assert ids(db, f"select facility_name from {raw}.facilities") == {f.name for f in store.facilities.values()}

    # the stock snapshot: exactly Finale's rows, and on hand per product and facility is the truth
    expected = inventory_rows(store)
    assert scalar(db, f"select count(*) from {raw}.inventory_items") == len(expected)
    assert scalar(db, f"select sum(quantity_on_order) from {raw}.inventory_items") == sum(
        Decimal(str(r["quantityOnOrder"])) for r in expected)
    on_hand = {(sku, url.rsplit("/", 1)[1]): qty for sku, url, qty in rows(
        db, f"select product_id, facility_url, sum(quantity_on_hand) from {raw}.inventory_items group by 1, 2")}
    truth = store.stock_on_hand_by_id()
    assert {k: v for k, v in on_hand.items() if v} == {k: v for k, v in truth.items() if v}


@pytest.fixture(scope="module")
def account(database):
    world = World(seed=61, scale=300, start=START)
    with serve_world(world):
        result = sync_source("finale", full_refresh=True, db=database)
        assert result.status == "success", result.message
        yield world, result


def test_full_sync_equals_the_world(account, database):
    world, result = account
    assert_matches_world(database, world)
    runs = {r.resource: r for r in result.runs}
    assert set(runs) == {"products", "inventory_items", "orders", "shipments", "suppliers", "facilities"}
    store = world.finale
    assert runs["orders"].rows_loaded == len(store.orders)
    assert runs["suppliers"].rows_loaded == sum(p.role == "SUPPLIER" for p in store.parties.values())
    # one read per 30-day window from the initial date; the unfiltered collections in one read each
    for name in ("products", "orders", "shipments", "suppliers"):
        assert runs[name].api_calls == windows(INITIAL), name
    assert runs["inventory_items"].api_calls == runs["facilities"].api_calls == 1
    assert runs["orders"].cursor_after == max(o.updated for o in store.orders.values()).strftime("%Y-%m-%dT%H:%M:%S")
    assert scalar(database, "select data_type from information_schema.columns where table_schema = %s "
                            "and table_name = 'orders__order_item_list' and column_name = 'unit_price'", RAW) == "numeric"


def test_incremental_loads_exactly_the_changed_records(account, database):
    world, first = account
    cursors = {r.resource: r.cursor_after for r in first.runs}
    changes = world.advance(6)["finale"]
    assert changes["order"] and changes["shipment"] and changes["product"] and changes["inventoryitem"]
    with serve_world(world):
        result = sync_source("finale", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    last_load = scalar(database, f"select max(load_id) from {RAW}._dlt_loads where status = 0")
    for name, collection in FILTERED.items():
        key = {"products": "product_id", "orders": "order_id", "shipments": "shipment_id"}[name]
        assert runs[name].rows_loaded == len(changes[collection]), name
        assert ids(database, f"select {key} from {RAW}.{name} where _dlt_load_id = %s", last_load) == changes[collection]
    suppliers = {p.id for p in world.finale.parties.values() if p.role == "SUPPLIER"}
    assert runs["suppliers"].rows_loaded == len(changes["partygroup"] & suppliers)
    # cost in proportion to change: the windows from the cursor (less the overlap) to now, nothing more
    for name in ("products", "orders", "shipments", "suppliers"):
        since = datetime.fromisoformat(cursors[name]).replace(tzinfo=timezone.utc) - timedelta(hours=1)
        assert runs[name].api_calls <= windows(since), name
    # facilities (a handful) and the stock snapshot are read whole, in one request each
    assert runs["facilities"].rows_loaded == len(world.finale.facilities) and runs["facilities"].api_calls == 1
    assert runs["inventory_items"].rows_loaded == len(inventory_rows(world.finale))
    assert runs["inventory_items"].api_calls == 1
    assert_matches_world(database, world)

    with serve_world(world):
        again = sync_source("finale", db=database)  # nothing changed since: nothing new loads
    assert again.status == "success"
    assert all(r.rows_loaded == 0 for r in again.runs if r.resource in (*FILTERED, "suppliers"))


def test_a_record_stamped_in_the_cursors_own_second_is_not_lost(account, database):
    world, _ = account
    cursor = scalar(database, f"select max(last_updated_date) from {RAW}.orders")
    # a late commit: an order saved with the same second as the newest one we hold
    order = next(o for o in world.finale.orders.values() if o.updated < cursor and o.status == "ORDER_LOCKED")
    with world.lock:
        order.status = "ORDER_CANCELLED"
        order.updated = cursor
        world.finale.version += 1
    with serve_world(world):
        result = sync_source("finale", db=database)
    assert result.status == "success", result.message
    assert {r.resource: r.rows_loaded for r in result.runs}["orders"] == 1
    assert scalar(database, f"select status_id from {RAW}.orders where order_id = %s", order.id) == "ORDER_CANCELLED"


def test_wrong_credentials_fail_in_one_clear_line_and_the_other_source_still_loads(account, database):
    world, _ = account
    with serve_world(world):
        os.environ["SOURCES__FINALE__API_SECRET"] = "fin_secret_definitely_wrong_5a"
        bad, other = sync_sources(["finale", "lightspeed"], db=database)
    assert bad.status == "failed"
    assert bad.message.startswith("finale: the API refused the credentials: HTTP 401")
    assert "\n" not in bad.message and "fin_secret_definitely_wrong_5a" not in bad.message
    assert scalar(database, "select count(*) from ops.sync_runs where run_id = %s and status = 'failed'",
                  bad.run_id) >= 1
    assert other.source == "lightspeed" and other.status == "success", other.message


def test_a_response_at_the_entity_cap_is_split_and_read_again(database, monkeypatch):
    cap = 40
    monkeypatch.setattr(FinaleAPI, "max_entities", cap)  # the 120,000 cut, made small
    monkeypatch.setenv("SOURCES__FINALE__MAX_ENTITIES", str(cap))
    world = World(seed=62, scale=200, start=START)
    assert len(world.finale.orders) > 2 * cap and len(inventory_rows(world.finale)) > cap
    with serve_world(world):
        # the stock snapshot cannot be filtered, so a cut one is refused rather than loaded short
        refused = sync_source("finale", db=database)
        assert refused.status == "failed"
        assert "inventory_items" in refused.message and "cap" in refused.message
        # the windowed collections split until every response is under the cap (own dataset)
        monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "cap_")
        stats = SyncStats()
        source = make_source("finale", stats=stats).with_resources("products", "orders", "shipments", "suppliers")
        make_pipeline("finale", database).run(source, refresh="drop_sources")
    try:
        raw = "cap_raw_finale"
        store = world.finale
        assert dict(rows(database, f"select order_id, status_id from {raw}.orders")) == {
            o.id: o.status for o in store.orders.values()}
        assert scalar(database, f"select sum(quantity * unit_price) from {raw}.orders__order_item_list") == sum(
            i.quantity * i.unit_price for o in store.orders.values() for i in o.items)
        assert ids(database, f"select shipment_id from {raw}.shipments") == set(store.shipments)
        assert ids(database, f"select product_id from {raw}.products") == set(store.products)
        assert stats.of("orders").api_calls > windows(INITIAL)  # some windows were split
    finally:
        with database.cursor() as cur:
            cur.execute("drop schema if exists cap_raw_finale cascade")


@pytest.fixture(scope="module")
def limited(database):
    """A world for the rate-limit tests: each advances it and syncs incrementally (7 or 8 requests)."""
    world = World(seed=63, scale=200, start=START)
    with serve_world(world):
        assert sync_source("finale", full_refresh=True, db=database).ok
    return world


def test_a_429_is_waited_out_until_its_reset_time(limited, database, monkeypatch):
    world, changes = limited, limited.advance(6)["finale"]
    # the first minute window ends 3s after the sync's first request
    monkeypatch.setattr(FinaleAPI, "time_source", CatchUpClock(lag=57, span=3))
    monkeypatch.setenv("SOURCES__FINALE__PACE_BELOW_SHARE", "0")  # no pacing: run into the limit
    with serve_world(world, faults="finale:rate_limit=5"):
        result = sync_source("finale", db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 1  # waited until X-RateLimit-Reset, then went on
    assert {r.resource: r.rows_loaded for r in result.runs}["orders"] == len(changes["order"])
    assert_matches_world(database, world)


def test_pacing_waits_for_the_reset_before_the_limit_is_hit(limited, database, monkeypatch):
    world, changes = limited, limited.advance(6)["finale"]
    monkeypatch.setattr(FinaleAPI, "time_source", CatchUpClock(lag=57, span=3))
    started = time.monotonic()
    with serve_world(world, faults="finale:rate_limit=5"):
        result = sync_source("finale", db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 0  # X-RateLimit-Remaining ran out: waited, no 429
    assert time.monotonic() - started >= 2
    assert {r.resource: r.rows_loaded for r in result.runs}["orders"] == len(changes["order"])
    assert_matches_world(database, world)


def test_a_limit_too_far_off_stops_cleanly_and_the_next_run_resumes(limited, database, monkeypatch):
    world, changes = limited, limited.advance(6)["finale"]
    monkeypatch.setenv("SOURCES__FINALE__MAX_RATE_LIMIT_WAIT", "5")
    with serve_world(world, faults="finale:rate_limit=3"):  # the 4th request waits a minute: too long
        stopped = sync_source("finale", db=database)
    assert stopped.status == "stopped", stopped.message
    assert stopped.message.startswith("finale: rate limited for ")
    assert "stopped cleanly" in stopped.message and "\n" not in stopped.message
    assert scalar(database, "select count(*) from ops.sync_runs where run_id = %s and status = 'stopped'",
                  stopped.run_id) >= 1
    with serve_world(world):  # the limit has reset
        resumed = sync_source("finale", db=database)
    assert resumed.status == "success", resumed.message
    assert {r.resource: r.rows_loaded for r in resumed.runs}["orders"] == len(changes["order"])
    assert_matches_world(database, world)


def test_transient_faults_are_retried_to_the_same_data(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=65, scale=300, start=START)
    with serve_world(world, faults="finale:error_rate=0.15,drop_rate=0.05"):
        result = sync_source("finale", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) > 0
    assert_matches_world(database, world)


def test_schema_drift_lands_and_broken_columns_are_quarantined(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=66, scale=200, start=START)
    with serve_world(world):
        assert sync_source("finale", full_refresh=True, db=database).ok
    reports = {}
    for drift in ("new_field", "type_change", "object_to_list"):
        changes = world.advance(2)["finale"]
        with serve_world(world, faults=f"finale:drift={drift}"):
            result = sync_source("finale", db=database)
        assert result.status == "success", (drift, result.message)
        runs = {r.resource: r for r in result.runs}
        assert runs["orders"].rows_loaded == len(changes["order"])
        reports[drift] = [c for r in result.runs for c in r.schema_changes]
    assert {"table": "facilities", "column": "shipping_enabled", "change": "new_column"} in reports["new_field"]
    assert {"table": "facilities__address", "change": "new_table"} in reports["object_to_list"]
    # quantities and money sent as strings are coerced into their declared numeric columns: exact,
    # no variant column needed
    assert not [c for c in reports["type_change"] if c["change"] == "type_change"]
    assert_matches_world(database, world)

    # arrays of unequal length: a malformed response, quarantined, never zero rows
    changes = world.advance(2)["finale"]
    before = dict(rows(database, f"select order_id, last_updated_date from {RAW}.orders"))
    with serve_world(world, faults="finale:drift=column_major_broken"):
        broken = sync_source("finale", db=database)
    assert broken.status == "failed"
    assert "malformed" in broken.message and "unequal length" in broken.message
    assert scalar(database, "select count(*) from ops.quarantine where run_id = %s and source = 'finale'",
                  broken.run_id) == 1
    assert dict(rows(database, f"select order_id, last_updated_date from {RAW}.orders")) == before
    with serve_world(world):
        healed = sync_source("finale", db=database)
    assert healed.status == "success", healed.message
    assert {r.resource: r.rows_loaded for r in healed.runs}["orders"] == len(changes["order"])
    assert_matches_world(database, world)
