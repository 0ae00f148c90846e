"""The Xero source against the sandbox: complete, incremental, limits and rotating OAuth tokens."""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from conftest import rows, scalar, serve_world

from ingest.sync import sync_source, sync_sources
from sandbox.world import World
from sandbox.xero.store import invoice_amounts, invoice_lines, melbourne_date_ms

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
RESOURCES = ("invoices", "contacts", "payments", "credit_notes", "items", "accounts")
KEYS = {"invoices": "invoice_id", "contacts": "contact_id", "payments": "payment_id",
        "credit_notes": "credit_note_id", "items": "item_id", "accounts": "account_id"}


def at_ms(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=value)


def fast_limiter(world) -> None:
    """The limiter's minute passes in 0.6 s: the sandbox still counts and reports, but the many
    syncs of one test module never run the minute dry (no pacing, no 429)."""
    world.xero.limiter.clock = lambda: time.monotonic() * 100


def assert_matches_world(db, world) -> None:
    """Every collection equals the organisation: counts, ids, update times, statuses and amounts."""
    store = world.xero
    assert dict(rows(db, "select invoice_id, updated_date_utc from raw_xero.invoices")) == {
        store.invoice_id(i): at_ms(i.updated_ms) for i in store.invoices}
    assert dict(rows(db, "select invoice_id, total from raw_xero.invoices")) == {
        store.invoice_id(i): invoice_amounts(i)["Total"] for i in store.invoices}
    assert dict(rows(db, "select invoice_id, status from raw_xero.invoices")) == {
        store.invoice_id(i): i.status for i in store.invoices}
    assert scalar(db, "select count(*) from raw_xero.invoices__line_items") == sum(
        len(invoice_lines(i)) for i in store.invoices)
    assert scalar(db, "select sum(line_amount) from raw_xero.invoices__line_items") == sum(
        line.line_amount for i in store.invoices for line in invoice_lines(i))
    assert dict(rows(db, "select contact_id, contact_status from raw_xero.contacts")) == {
        store.contact_id(c): c.status for c in store.contact_list}
    assert dict(rows(db, "select payment_id, amount from raw_xero.payments")) == {
        store.payment_id(p): invoice_amounts(p.invoice if p.invoice is not None else p.credit_note.invoice)["Total"]
        for p in store.payments}
    assert dict(rows(db, "select payment_id, status from raw_xero.payments")) == {
        store.payment_id(p): p.status for p in store.payments}
    assert dict(rows(db, "select credit_note_id, total from raw_xero.credit_notes")) == {
        store.credit_note_id(c): invoice_amounts(c.invoice)["Total"] for c in store.credit_notes}
    assert dict(rows(db, "select item_id, sales_details__unit_price from raw_xero.items")) == {
        store.item_id(i): i.price for i in store.items}
    assert dict(rows(db, "select account_id, code from raw_xero.accounts")) == {
        store.account_id(a): a.code for a in store.accounts}


def assert_deletes_flagged(db, world) -> None:
    """DELETED invoices and payments, ARCHIVED contacts: flagged rows with their last values.
    VOIDED is a status, not a delete."""
    store = world.xero
    assert {r[0] for r in rows(db, "select invoice_id from raw_xero.invoices where is_deleted")} == {
        store.invoice_id(i) for i in store.invoices if i.status == "DELETED"}
    assert {r[0] for r in rows(db, "select contact_id from raw_xero.contacts where is_deleted")} == {
        store.contact_id(c) for c in store.contact_list if c.status == "ARCHIVED"}
    assert {r[0] for r in rows(db, "select payment_id from raw_xero.payments where is_deleted")} == {
        store.payment_id(p) for p in store.payments if p.status == "DELETED"}
    for table in ("invoices", "contacts", "payments", "credit_notes"):
        assert scalar(db, f"select count(*) from raw_xero.{table} where is_deleted is null "
                          "or is_deleted <> (deleted_seen_at is not null)") == 0, table
    # the last known values stay: amounts and lines of a deleted invoice are still there
    assert scalar(db, "select count(*) from raw_xero.invoices where is_deleted and total > 0") == sum(
        1 for i in store.invoices if i.status == "DELETED")
    assert scalar(db, "select count(*) from raw_xero.invoices where status = 'VOIDED' and not is_deleted") == sum(
        1 for i in store.invoices if i.status == "VOIDED")


@pytest.fixture(scope="module")
def org(database):
    world = World(seed=92, scale=300, start=START)  # a draft invoice gets DELETED in the first advance
    fast_limiter(world)
    configured = world.xero.auth.current_refresh_token
    with serve_world(world):
        result = sync_source("xero", full_refresh=True, db=database)
        assert result.status == "success", result.message
        yield world, result, configured


def stored_token(db, world) -> str | None:
    return scalar(db, "select max(refresh_token) from ops.oauth_tokens where source = 'xero' and account = %s",
                  world.xero.auth.client_id)


def test_full_sync_equals_the_organisation(org, database):
    world, result, _ = org
    store = world.xero
    assert_matches_world(database, world)
    assert_deletes_flagged(database, world)
    assert {i.status for i in store.invoices} >= {"PAID", "VOIDED", "DRAFT", "AUTHORISED"}
    assert any(c.status == "ARCHIVED" for c in store.contact_list)
    runs = {r.resource: r for r in result.runs}
    assert set(runs) == set(RESOURCES)
    assert runs["invoices"].rows_loaded == len(store.invoices)
    # cost: pages of 100 (+1 for the token refresh, +1 for the keyset boundary); unpaged ones in one call
    assert runs["invoices"].api_calls <= -(-len(store.invoices) // 100) + 2
    assert runs["items"].api_calls <= 2 and runs["accounts"].api_calls <= 2
    assert runs["invoices"].cursor_after == at_ms(max(i.updated_ms for i in store.invoices)).strftime(
        "%Y-%m-%dT%H:%M:%S")
    # .NET dates became UTC timestamps; the organisation's calendar date stays as sent
    inv = store.invoices[0]
    midnight, local_date = melbourne_date_ms(inv.created_ms)
    assert rows(database, "select updated_date_utc, date, date_string from raw_xero.invoices where invoice_id = %s",
                store.invoice_id(inv)) == [(at_ms(inv.updated_ms), at_ms(midnight), local_date)]
    for table, column in (("invoices", "total"), ("invoices__line_items", "unit_amount"), ("payments", "amount")):
        assert scalar(database, "select data_type from information_schema.columns where table_schema = 'raw_xero' "
                                "and table_name = %s and column_name = %s", table, column) == "numeric"


def test_the_rotated_refresh_token_is_stored(org, database):
    world, _, configured = org
    stored = stored_token(database, world)
    assert stored == world.xero.auth.current_refresh_token and stored != configured
    assert scalar(database, "select count(*) from ops.sync_runs where error_message like %s",
                  f"%{stored}%") == 0


def test_incremental_loads_exactly_the_changed_records(org, database):
    world, _, _ = org
    drafts = {world.xero.invoice_id(i) for i in world.xero.invoices if i.status == "DRAFT"}
    changes = world.advance(6)["xero"]
    assert changes["invoices"] and changes["payments"] and changes["contacts"]
    deleted = {world.xero.invoice_id(i) for i in world.xero.invoices if i.status == "DELETED"}
    assert deleted and deleted <= drafts & changes["invoices"]
    with serve_world(world):
        result = sync_source("xero", db=database)
    assert result.status == "success", result.message
    runs = {r.resource: r for r in result.runs}
    last_load = scalar(database, "select max(load_id) from raw_xero._dlt_loads where status = 0")
    for resource in RESOURCES:
        assert runs[resource].rows_loaded == len(changes[resource]), resource
        loaded = {r[0] for r in rows(database, f"select {KEYS[resource]} from raw_xero.{resource} "
                                               "where _dlt_load_id = %s", last_load)}
        assert loaded == changes[resource], resource
        # cost in proportion to change (+1 for the token refresh, counted on the first stream)
        assert runs[resource].api_calls <= len(changes[resource]) // 100 + 2, resource
    assert_matches_world(database, world)
    assert_deletes_flagged(database, world)
    # the draft that was deleted: the same row, now flagged, its lines and amounts kept
    for invoice_id in deleted:
        assert rows(database, "select is_deleted, status, total > 0 from raw_xero.invoices where invoice_id = %s",
                    invoice_id) == [(True, "DELETED", True)]
        assert scalar(database, "select count(*) from raw_xero.invoices__line_items as li join raw_xero.invoices "
                                "as i on li._dlt_root_id = i._dlt_id where i.invoice_id = %s", invoice_id) > 0
    with serve_world(world):
        again = sync_source("xero", db=database)  # nothing changed since: nothing loads
    assert again.status == "success" and again.rows == 0


def test_an_invoice_updated_in_the_cursors_own_second_is_not_lost(org, database):
    world, _, _ = org
    store = world.xero
    newest = max(i.updated_ms for i in store.invoices)
    inv = next(i for i in store.invoices if i.updated_ms < newest - 1000 and i.status == "AUTHORISED")
    with world.lock:  # a late commit, stamped with the same second as the newest invoice we hold
        inv.updated_ms = newest
        store.version += 1
    with serve_world(world):
        result = sync_source("xero", db=database)
    assert result.status == "success", result.message
    assert {r.resource: r.rows_loaded for r in result.runs}["invoices"] == 1
    assert scalar(database, "select updated_date_utc from raw_xero.invoices where invoice_id = %s",
                  store.invoice_id(inv)) == at_ms(inv.updated_ms)


def test_wrong_credentials_fail_in_one_clear_line_and_the_other_source_still_loads(org, database):
    world, _, _ = org
    with serve_world(world):
        os.environ["SOURCES__XERO__CLIENT_SECRET"] = "xs_definitely_wrong_5d2"  # serve_world restores it
        bad, good = sync_sources(["xero", "klaviyo"], full_refresh=True, db=database)
    assert bad.status == "failed"
    assert bad.message == ("xero: the token endpoint refused the app's credentials (invalid_client): "
                           "check SOURCES__XERO__CLIENT_ID and SOURCES__XERO__CLIENT_SECRET")
    assert "xs_definitely_wrong_5d2" not in bad.message
    assert good.status == "success", good.message
    assert scalar(database, "select count(*) from raw_klaviyo.profiles") == len(world.klaviyo.profile_list)
    assert scalar(database, "select count(*) from raw_xero.invoices") == len(world.xero.invoices)  # nothing dropped


def test_a_wrong_tenant_is_named(org, database):
    world, _, _ = org
    with serve_world(world):
        os.environ["SOURCES__XERO__TENANT_ID"] = "00000000-0000-0000-0000-000000000000"
        result = sync_source("xero", db=database)
    assert result.status == "failed"
    assert result.message.startswith("xero: the API refused the credentials: HTTP 403")
    assert "SOURCES__XERO__TENANT_ID" in result.message


def test_the_day_limit_stops_cleanly_and_the_next_run_resumes(org, database):
    world, _, _ = org
    changes = world.advance(6)["xero"]
    cursors = dict(rows(database, "select resource, cursor_value from ops.sync_state where source = 'xero'"))
    with serve_world(world, faults="xero:rate_limit=day"):
        stopped = sync_source("xero", db=database)
    assert stopped.status == "stopped", stopped.message
    assert stopped.message.startswith("xero: the organisation's daily API limit (5000 calls) is used up")
    assert "stopped cleanly, the next run resumes from the saved cursor" in stopped.message
    assert sum(r.api_calls for r in stopped.runs) <= 3  # it stops at once, it does not spin
    assert dict(rows(database, "select resource, cursor_value from ops.sync_state where source = 'xero'")) == cursors
    assert all(r.cursor_after == r.cursor_before for r in stopped.runs)
    # a day limit that bites mid-run: some streams read, then every call refused
    limiter = world.xero.limiter
    limiter.reset_day()
    limiter.DAY_LIMIT = 3
    with serve_world(world, faults="xero:rate_limit=on"):
        midway = sync_source("xero", db=database)
    assert midway.status == "stopped", midway.message
    del limiter.DAY_LIMIT
    limiter.reset_day()  # the next day
    with serve_world(world):
        resumed = sync_source("xero", db=database)
    assert resumed.status == "success", resumed.message
    for run in resumed.runs:
        assert run.rows_loaded == len(changes[run.resource]), run.resource
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


def test_a_minute_limit_is_waited_out(database):
    world = World(seed=82, scale=150, start=START)
    clock = EdgeClock(start=1000.0)
    limiter, tenant = world.xero.limiter, world.xero.tenant_id
    limiter.clock = clock
    for _ in range(limiter.MINUTE_LIMIT):  # this minute's 60 calls are spent
        limiter.acquire(tenant, limiter.MINUTE_LIMIT, enforce=True)
        limiter.release(tenant)
    clock.arm(edge=1060.0, reads=3)  # the first call (it reads the clock three times) meets the full minute
    started = time.monotonic()
    with serve_world(world, faults="xero:rate_limit=on"):
        result = sync_source("xero", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) == 1
    assert time.monotonic() - started < 30
    assert_matches_world(database, world)


def test_5xx_and_dropped_connections_are_retried_to_the_same_data(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=83, scale=150, start=START)
    fast_limiter(world)
    with serve_world(world, faults="xero:error_rate=0.2,drop_rate=0.1,malformed_rate=0.05"):
        result = sync_source("xero", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert sum(r.retries for r in result.runs) > 0
    assert_matches_world(database, world)
    assert_deletes_flagged(database, world)
    assert stored_token(database, world) == world.xero.auth.current_refresh_token


def test_schema_drift_lands_and_is_reported(database):
    world = World(seed=84, scale=150, start=START)
    fast_limiter(world)
    with serve_world(world):
        assert sync_source("xero", full_refresh=True, db=database).ok
    reports: dict[str, dict[str, list]] = {}
    for drift in ("new_field", "type_change", "object_to_list"):
        changes = world.advance(4)["xero"]
        with serve_world(world, faults=f"xero:drift={drift}"):
            result = sync_source("xero", db=database)
        assert result.status == "success", (drift, result.message)
        for run in result.runs:
            assert run.rows_loaded == len(changes[run.resource]), (drift, run.resource)
        reports[drift] = {r.resource: r.schema_changes for r in result.runs}
        if drift == "type_change":  # amounts sent as strings: cast back into the numeric columns, exact
            assert_matches_world(database, world)
    assert {"table": "contacts", "column": "company_number", "change": "new_column"} in reports["new_field"]["contacts"]
    assert {"table": "invoices__contact", "change": "new_table"} in reports["object_to_list"]["invoices"]
    assert {"table": "payments__account", "change": "new_table"} in reports["object_to_list"]["payments"]
    with database.cursor() as cur:
        cur.execute("select schema_changes from ops.sync_runs where source = 'xero' and resource = 'invoices' "
                    "and schema_changes @> '[{\"table\": \"invoices__contact\"}]'")
        assert cur.fetchone() is not None  # the run record keeps it for the operator


def test_a_restarted_sync_uses_the_stored_token_which_is_in_ops_before_use(database):
    world = World(seed=85, scale=60, start=START)
    fast_limiter(world)
    auth = world.xero.auth
    clock = {"now": 1_900_000_000.0}
    auth.clock = lambda: clock["now"]
    presented: list[str] = []
    stored_at_first_use: list[str | None] = []
    refresh, check_access = auth.refresh, auth.check_access

    def spy_refresh(token):  # which refresh token the source presents
        presented.append(token)
        return refresh(token)

    def spy_check_access(token):  # what ops holds when an access token is first used
        if len(stored_at_first_use) < len(presented):
            stored_at_first_use.append(stored_token(database, world))
        return check_access(token)

    auth.refresh, auth.check_access = spy_refresh, spy_check_access
    r0 = auth.current_refresh_token
    with serve_world(world):
        first = sync_source("xero", full_refresh=True, db=database)
    assert first.status == "success", first.message
    r1 = auth.current_refresh_token
    assert presented == [r0] and r1 != r0
    assert stored_at_first_use == [r1]  # the rotated token was in ops before the access token was used
    clock["now"] += auth.grace_seconds + 1  # the configured token is now dead
    assert r0 not in auth.live_refresh_tokens()
    world.advance(2)
    with serve_world(world):
        os.environ["SOURCES__XERO__REFRESH_TOKEN"] = r0  # the configuration still holds the first token
        second = sync_source("xero", db=database)
    assert second.status == "success", second.message
    assert presented == [r0, r1]  # the stored token won
    assert stored_at_first_use == [r1, auth.current_refresh_token]
    assert_matches_world(database, world)


def test_two_refreshes_never_run_at_once(database):
    """Two processes refreshing the same connection: the second waits for the lock and uses the
    token the first one stored, instead of the one the first just rotated away."""
    from ingest.xero.helpers import XeroClient
    from ingest.xero.tokens import TokenStore

    world = World(seed=86, scale=60, start=START)
    auth = world.xero.auth
    presented: list[str] = []
    refresh = auth.refresh

    def slow_refresh(token):
        presented.append(token)
        time.sleep(0.3)  # a slow identity server: the second client arrives mid-refresh
        return refresh(token)

    auth.refresh = slow_refresh
    r0 = auth.current_refresh_token
    with serve_world(world) as server:
        settings = server.settings()
        clients = [XeroClient(settings["SOURCES__XERO__BASE_URL"], settings["SOURCES__XERO__TOKEN_URL"],
                              auth.client_id, auth.client_secret, r0, world.xero.tenant_id,
                              tokens=TokenStore(database, "xero", auth.client_id)) for _ in range(2)]
        threads = [threading.Thread(target=c.refresh, args=("invoices",)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        for c in clients:
            body, _ = c.get_json(f"{settings['SOURCES__XERO__BASE_URL']}/Accounts", resource="accounts")
            assert len(body["Accounts"]) == len(world.xero.accounts)
    assert len(presented) == 2 and presented[0] == r0 and presented[1] != r0
    assert stored_token(database, world) == auth.current_refresh_token


def test_net_dates_and_amounts():
    from ingest.xero.helpers import XeroClient, parse_net_date

    assert parse_net_date("/Date(1552326816230+0000)/") == datetime(2019, 3, 11, 17, 53, 36, 230000, timezone.utc)
    assert parse_net_date("/Date(1552326816230)/") == parse_net_date("/Date(1552326816230+1300)/")
    assert parse_net_date("/Date(-86400000)/") == datetime(1969, 12, 31, tzinfo=timezone.utc)
    assert parse_net_date("2019-03-11") is None
    client = XeroClient("http://xero.invalid", "http://xero.invalid/token", "id", "secret", "rt", "tenant")
    # anywhere in a body, escaped slashes or not; only a whole string that is a .NET date
    record = client.parse(rb'{"A": [{"B": "/Date(0+0000)/"}], "C": "/Date(x)/", "D": ["\/Date(1552326816230)\/"],'
                          rb' "E": "on /Date(0)/", "F": "/Date(-86400000+1300)/"}')
    assert record == {"A": [{"B": "1970-01-01T00:00:00+00:00"}], "C": "/Date(x)/",
                      "D": ["2019-03-11T17:53:36.230000+00:00"], "E": "on /Date(0)/", "F": "1969-12-31T00:00:00+00:00"}
    assert datetime.fromisoformat(record["D"][0]) == parse_net_date("/Date(1552326816230+0000)/")
    # the text is what datetime.isoformat() writes for the instant (the cursor compares it as text)
    for ms in (0, 1, 999, 1000, -1, -86_400_001, 1_552_326_816_230, 4_102_444_799_999, 951_782_400_000):
        text = client.parse(b'["/Date(%d+0000)/"]' % ms)[0]
        assert text == parse_net_date(f"/Date({ms})/").isoformat(), ms
    total = client.parse(b'{"Total": 45.60}')["Total"]
    assert total == Decimal("45.60") and isinstance(total, Decimal)


def served_client(database, world, server, **kwargs):
    from ingest.xero.helpers import XeroClient
    from ingest.xero.tokens import TokenStore

    s, auth = server.settings(), world.xero.auth
    return XeroClient(s["SOURCES__XERO__BASE_URL"], s["SOURCES__XERO__TOKEN_URL"], auth.client_id, auth.client_secret,
                      s["SOURCES__XERO__REFRESH_TOKEN"], world.xero.tenant_id,
                      tokens=TokenStore(database, "xero", auth.client_id), **kwargs)


def test_an_access_token_refused_early_is_refreshed_once(database):
    world = World(seed=87, scale=60, start=START)
    auth = world.xero.auth
    clock = {"now": 1_900_000_000.0}
    auth.clock = lambda: clock["now"]
    with serve_world(world) as server:
        client = served_client(database, world, server)
        url = f"{client.base_url}/Accounts"
        assert len(client.get_json(url, resource="accounts")[0]["Accounts"]) == len(world.xero.accounts)
        clock["now"] += auth.access_ttl  # Xero's clock says the token expired; ours does not know yet
        assert len(client.get_json(url, resource="accounts")[0]["Accounts"]) == len(world.xero.accounts)
    assert client.stats.of("accounts").api_calls == 5  # refresh, call, 401, refresh, call
    assert stored_token(database, world) == auth.current_refresh_token


def test_pacing_when_the_minute_runs_low(database):
    world = World(seed=88, scale=60, start=START)
    limiter, tenant = world.xero.limiter, world.xero.tenant_id
    limiter.clock = lambda: 5000.0  # one minute window for the whole test
    for _ in range(limiter.MINUTE_LIMIT - 4):
        limiter.acquire(tenant, limiter.MINUTE_LIMIT, enforce=False)
        limiter.release(tenant)
    with serve_world(world) as server:
        client = served_client(database, world, server, pace_seconds=0.5)
        url = f"{client.base_url}/Accounts"
        started = time.monotonic()
        client.get_json(url, resource="accounts")
        first = time.monotonic() - started
        client.get_json(url, resource="accounts")  # X-MinLimit-Remaining was 3: this one waits
        second = time.monotonic() - started - first
    assert first < 0.5 <= second


def test_envelope_checks_name_the_problem():
    from ingest.xero.helpers import envelope
    from ingest.xero.settings import COLLECTIONS

    check = envelope(COLLECTIONS["invoices"])
    assert check({"Status": "OK", "Invoices": [{"InvoiceID": "a"}]}) is None
    assert check({"Status": "OK", "Invoice": []}) == "the `Invoices` array is missing"
    assert check({"Status": "ERROR", "Invoices": []}) == "the envelope's Status is 'ERROR'"
    assert check({"Status": "OK", "Invoices": [{"InvoiceNumber": "INV-1"}]}) == "a record without `InvoiceID`"
    assert check([]) == "expected a JSON object, got list"
