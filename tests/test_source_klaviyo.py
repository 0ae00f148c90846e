"""The Klaviyo source against the sandbox: complete, incremental to the record, and safe."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from conftest import rows, scalar, serve_world

from ingest.sync import sync_source, sync_sources
from sandbox.klaviyo.api import ENDPOINT_TIER, TIERS
from sandbox.klaviyo.store import PLACED_ORDER, from_epoch
from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
RESOURCES = ("profiles", "events", "lists", "campaigns", "metrics")


def assert_matches_world(db, world) -> None:
    """Every stream equals the account: counts, and checksums over ids, update times and values."""
    store = world.klaviyo
    assert dict(rows(db, "select id, updated from raw_klaviyo.profiles")) == {
        p.id: p.updated for p in store.profile_list}
    events = {store.event_id(i): store.event(i) for i in range(store.event_count)}
    loaded = {r[0]: r[1:] for r in rows(db, "select id, datetime, profile_id, metric_id from raw_klaviyo.events")}
    assert loaded == {eid: (from_epoch(ts), profile.id, store.metrics[metric].id)
                      for eid, (metric, profile, ts, _ref) in events.items()}
    placed = [ref for metric, _p, _ts, ref in events.values() if metric == PLACED_ORDER]
    assert scalar(db, "select sum(event_properties___value) from raw_klaviyo.events where metric_id = %s",
                  store.metrics[PLACED_ORDER].id) == sum(order_totals(store.orders[o])["total"] for o in placed)
    assert dict(rows(db, "select id, updated_at from raw_klaviyo.campaigns")) == {
        c.id: c.updated for c in store.campaigns}
    assert dict(rows(db, "select id, channel from raw_klaviyo.campaigns")) == {
        c.id: c.channel for c in store.campaigns}
    assert dict(rows(db, "select id, name from raw_klaviyo.lists")) == {x.id: x.name for x in store.lists}
    assert dict(rows(db, "select id, name from raw_klaviyo.metrics")) == {m.id: m.name for m in store.metrics}


@pytest.fixture(scope="module")
def account(database):
    world = World(seed=71, scale=300, start=START)
    with serve_world(world):
        result = sync_source("klaviyo", full_refresh=True, db=database)
        assert result.status == "success", result.message
        yield world, result


def test_full_sync_equals_the_account(account, database):
    world, result = account
    store = world.klaviyo
    assert_matches_world(database, world)
    runs = {r.resource: r for r in result.runs}
    assert set(runs) == set(RESOURCES)
    assert runs["profiles"].rows_loaded == len(store.profile_list)
    assert runs["events"].rows_loaded == store.event_count
    # cost: pages of 100 profiles and 200 events, plus two calls that find where the events start and end
    assert runs["profiles"].api_calls <= -(-len(store.profile_list) // 100) + 1
    assert runs["events"].api_calls <= -(-store.event_count // 200) + 3
    assert runs["campaigns"].api_calls <= 2 * (-(-len(store.campaigns) // 10) + 1)
    assert runs["profiles"].cursor_after == max(p.updated for p in store.profile_list).strftime("%Y-%m-%dT%H:%M:%S")
    # suppressions (Klaviyo's only trace of an unsubscribe or a bounce) land with the profile
    suppressed = {p.id: p.suppression[0] for p in store.profile_list if p.suppression}
    assert suppressed
    assert dict(rows(database, """
        select p.id, s.reason from raw_klaviyo.profiles as p
        join raw_klaviyo.profiles__subscriptions__email__marketing__suppression as s on s._dlt_parent_id = p._dlt_id
    """)) == suppressed
    assert scalar(database, "select count(*) from raw_klaviyo.profiles where "
                            "subscriptions__email__marketing__can_receive_email_marketing") == sum(
        1 for p in store.profile_list if p.emailable(world.clock.now()))
    # money is exact: numeric, never float
    assert scalar(database, "select data_type from information_schema.columns where table_schema = 'raw_klaviyo' "
                            "and table_name = 'events' and column_name = 'event_properties___value'") == "numeric"


def test_incremental_loads_exactly_the_changed_records(account, database):
    world, _ = account
    changes = world.advance(6)["klaviyo"]
    assert changes["profiles"] and changes["events"] and changes["campaigns"]
    with serve_world(world):
        result = sync_source("klaviyo", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    last_load = scalar(database, "select max(load_id) from raw_klaviyo._dlt_loads where status = 0")
    for resource in RESOURCES:
        assert runs[resource].rows_loaded == len(changes[resource]), resource
        loaded = {r[0] for r in rows(database, f"select id from raw_klaviyo.{resource} where _dlt_load_id = %s",
                                     last_load)}
        assert loaded == changes[resource], resource
    # cost in proportion to change: changed/page size + a small constant per stream
    assert runs["profiles"].api_calls <= len(changes["profiles"]) // 100 + 2
    assert runs["events"].api_calls <= len(changes["events"]) // 200 + 2
    assert runs["campaigns"].api_calls <= 2 + len(changes["campaigns"]) // 10
    assert runs["lists"].api_calls <= 1 and runs["metrics"].api_calls <= 1
    assert_matches_world(database, world)
    # an unsubscribe is an update: the profile keeps its values and shows the suppression
    unsubscribed = [p for p in world.klaviyo.profile_list if p.id in changes["profiles"] and p.suppression]
    assert unsubscribed
    for p in unsubscribed:
        assert rows(database, "select email, subscriptions__email__marketing__can_receive_email_marketing "
                              "from raw_klaviyo.profiles where id = %s", p.id) == [(p.email, False)]
    with serve_world(world):
        again = sync_source("klaviyo", db=database)  # nothing changed since: nothing loads
    assert again.status == "success" and again.rows == 0


def test_a_profile_updated_in_the_cursors_own_second_is_not_lost(account, database):
    world, _ = account
    cursor = scalar(database, "select max(updated) from raw_klaviyo.profiles")
    profile = next(p for p in world.klaviyo.profile_list if p.updated < cursor)
    with world.lock:  # a late write: stamped with the same second as the newest profile we hold
        profile.first_name = "Late-Commit"
        profile.updated = cursor
        world.klaviyo.version += 1
    with serve_world(world):
        result = sync_source("klaviyo", db=database)
    assert result.status == "success", result.message
    assert {r.resource: r.rows_loaded for r in result.runs}["profiles"] == 1
    assert scalar(database, "select first_name from raw_klaviyo.profiles where id = %s", profile.id) == "Late-Commit"


def test_wrong_api_key_fails_in_one_clear_line_and_the_other_source_still_loads(account, database):
    world, _ = account
    with serve_world(world):
        os.environ["SOURCES__KLAVIYO__API_KEY"] = "pk_definitely_wrong_7c1"  # serve_world restores it
        bad, good = sync_sources(["klaviyo", "woocommerce"], full_refresh=True, db=database)
    assert bad.status == "failed"
    assert bad.message.startswith("klaviyo: the API refused the credentials: HTTP 401")
    assert "\n" not in bad.message and "pk_definitely_wrong_7c1" not in bad.message
    assert scalar(database, "select count(*) from ops.sync_runs where run_id = %s and status = 'failed'",
                  bad.run_id) >= 1
    assert good.status == "success", good.message
    assert scalar(database, "select count(*) from raw_woocommerce.orders") == len(world.woocommerce.orders)
    # the failed full refresh dropped nothing: the account's data is still there
    assert scalar(database, "select count(*) from raw_klaviyo.profiles") == len(world.klaviyo.profile_list)


def test_5xx_and_dropped_connections_are_retried_to_the_same_data(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=72, scale=150, start=START)
    with serve_world(world, faults="klaviyo:error_rate=0.2,drop_rate=0.1,malformed_rate=0.05"):
        result = sync_source("klaviyo", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) > 0
    assert_matches_world(database, world)


class EdgeClock:
    """A rate-limiter clock for the sandbox: `start` while the test fills a window, then (armed)
    half a second before the window's end for a few reads, then on past the edge in real time.
    So the sync meets a full window (a real 429 with Retry-After: 1) and the next one is free."""

    def __init__(self, start: float):
        self.start = start
        self.edge: float | None = None
        self.frozen = 0
        self.t0: float | None = None

    def arm(self, edge: float, reads: int) -> None:
        self.edge, self.frozen = edge, reads

    def __call__(self) -> float:
        if self.edge is None:
            return self.start
        if self.frozen > 0:
            self.frozen -= 1
            return self.edge - 0.5
        if self.t0 is None:
            self.t0 = time.monotonic()
        return self.edge + (time.monotonic() - self.t0)


def test_a_429_is_waited_out_by_retry_after(database):
    world = World(seed=73, scale=150, start=START)
    clock = EdgeClock(start=60 * 1000 + 10)
    limiter = world.klaviyo.rate_limiter
    limiter.clock = clock
    for endpoint, tier in ENDPOINT_TIER.items():  # this minute's allowance is spent on every endpoint
        burst, steady = TIERS[tier]
        for _ in range(steady):
            limiter.hit(endpoint, burst, steady, enforce=False)
    clock.arm(edge=60 * 1001, reads=2)  # the sync's first two calls still fall in the full minute
    started = time.monotonic()
    with serve_world(world, faults="klaviyo:rate_limit=on"):
        result = sync_source("klaviyo", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 2
    assert time.monotonic() - started < 30
    assert_matches_world(database, world)


def test_schema_drift_lands_and_is_reported(database):
    world = World(seed=74, scale=150, start=START)
    with serve_world(world):
        assert sync_source("klaviyo", full_refresh=True, db=database).ok
    reports: dict[str, dict[str, list]] = {}
    changed: dict[str, dict[str, set]] = {}
    for drift in ("new_field", "type_change", "object_to_list"):
        changed[drift] = changes = world.advance(3)["klaviyo"]
        with serve_world(world, faults=f"klaviyo:drift={drift}"):
            result = sync_source("klaviyo", db=database)
        assert result.status == "success", (drift, result.message)
        for run in result.runs:
            if run.resource in ("lists", "metrics"):  # read whole: reloaded when their shape changes
                continue
            assert run.rows_loaded == len(changes[run.resource]), (drift, run.resource)
        reports[drift] = {r.resource: r.schema_changes for r in result.runs}
        if drift == "type_change":  # numbers sent as strings: cast back into their typed columns, intact
            assert_matches_world(database, world)
    assert {"table": "events", "column": "value_currency", "change": "new_column"} in reports["new_field"]["events"]
    assert scalar(database, "select count(*) from raw_klaviyo.events where value_currency = 'AUD'") > 0
    # an object that became a list: a new child table, nothing lost
    assert {"table": "events__profile_ids", "change": "new_table"} in reports["object_to_list"]["events"]
    assert {"table": "profiles__location", "change": "new_table"} in reports["object_to_list"]["profiles"]
    assert scalar(database, """
        select count(*) from raw_klaviyo.events as e join raw_klaviyo.events__profile_ids as p
        on p._dlt_parent_id = e._dlt_id where e.profile_id is null and p.value is not null
    """) == len(changed["object_to_list"]["events"]) > 0
    with database.cursor() as cur:
        cur.execute("select schema_changes from ops.sync_runs where source = 'klaviyo' and resource = 'events' "
                    "and schema_changes @> '[{\"column\": \"value_currency\"}]'")
        assert cur.fetchone() is not None  # the run record keeps it for the operator


def test_money_is_never_a_float():
    from ingest.klaviyo.helpers import KlaviyoClient

    body = KlaviyoClient("http://klaviyo.invalid/api", "pk_x").parse(b'{"data": [{"v": 29.35, "n": 3}]}')
    assert body["data"][0]["v"] == Decimal("29.35") and isinstance(body["data"][0]["v"], Decimal)
    assert body["data"][0]["n"] == 3


def test_a_page_that_stays_malformed_is_quarantined_not_read_as_zero_rows(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=77, scale=100, start=START)
    with serve_world(world):
        assert sync_source("klaviyo", full_refresh=True, db=database).ok
    before = scalar(database, "select count(*) from raw_klaviyo.profiles")
    world.advance(2)
    with serve_world(world, faults="klaviyo:malformed_rate=1.0"):
        result = sync_source("klaviyo", db=database)
    assert result.status == "failed"
    assert "kept sending a malformed page" in result.message
    with database.cursor() as cur:
        cur.execute("select source, resource, reason, length(body) from ops.quarantine where run_id = %s",
                    (result.run_id,))
        (source, resource, reason, size), = cur.fetchall()
    assert source == "klaviyo" and resource in RESOURCES and "not JSON" in reason and size > 0
    assert scalar(database, "select count(*) from raw_klaviyo.profiles") == before


def test_envelope_checks_name_the_problem():
    from ingest.klaviyo.helpers import flatten, jsonapi_page

    assert jsonapi_page({"data": [], "links": {"next": None}}) is None
    assert jsonapi_page({"profiles": [], "links": {}}) == "the `data` array is missing"
    assert jsonapi_page({"data": {"id": "x"}, "links": {}}) == "`data` is a dict, not an array"
    assert jsonapi_page({"data": []}) == "the `links` object (paging) is missing"
    assert jsonapi_page({"data": [{"id": "x"}], "links": {}}) == "a resource object without `id` or `attributes`"
    row = flatten({"type": "event", "id": "E1", "attributes": {"datetime": "2026-11-01T08:00:00+00:00"},
                   "relationships": {"profile": {"data": {"type": "profile", "id": "P1"}, "links": {}},
                                     "campaign-messages": {"data": [{"type": "campaign-message", "id": "M1"}]},
                                     "tags": {"links": {"self": "..."}}}})
    assert row == {"id": "E1", "datetime": "2026-11-01T08:00:00+00:00", "profile_id": "P1",
                   "campaign_messages_ids": ["M1"]}


def test_pacing_spreads_the_last_calls_of_the_window(database):
    from ingest.klaviyo.helpers import KlaviyoClient
    from sandbox.klaviyo.api import API_KEY

    world = World(seed=76, scale=60, start=START)
    limiter = world.klaviyo.rate_limiter
    limiter.clock = lambda: 60 * 1000 + 58.0  # two seconds before the minute resets
    burst, steady = TIERS[ENDPOINT_TIER["metrics"]]
    for _ in range(steady - 2):
        limiter.hit("metrics", burst, steady, enforce=False)
    with serve_world(world) as server:
        client = KlaviyoClient(f"{server.base_url}/klaviyo/api", API_KEY)
        started = time.monotonic()
        assert len(next(client.walk("metrics", None, "metrics"))) == len(world.klaviyo.metrics)
        first = time.monotonic() - started
        assert client._limits["metrics"][1] == 1  # RateLimit-Remaining: one call left for 2 s
        next(client.walk("metrics", None, "metrics"))
        second = time.monotonic() - started - first
    assert first < 0.5 and second >= 0.8  # the call waited (2 s / 2 calls) instead of meeting a 429
