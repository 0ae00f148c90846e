"""The simulated Xero API, walked by a plain client that follows only Xero's docs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests
from conftest import serve_world

from sandbox.catalog import CATALOG
from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


class Xero:
    """A documented Xero client: refresh (persisting the rotated token at once), then GET with tenant."""

    def __init__(self, settings: dict[str, str]):
        self.base = settings["SOURCES__XERO__BASE_URL"]
        self.token_url = settings["SOURCES__XERO__TOKEN_URL"]
        self.client = (settings["SOURCES__XERO__CLIENT_ID"], settings["SOURCES__XERO__CLIENT_SECRET"])
        self.refresh_token = settings["SOURCES__XERO__REFRESH_TOKEN"]
        self.tenant = settings["SOURCES__XERO__TENANT_ID"]
        self.access_token = None

    def refresh(self) -> requests.Response:
        r = requests.post(self.token_url, auth=self.client, timeout=10,
                          data={"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        if r.status_code == 200:
            self.refresh_token = r.json()["refresh_token"]
            self.access_token = r.json()["access_token"]
        return r

    def get(self, path, params=None, since: datetime | None = None, tenant=None) -> requests.Response:
        if self.access_token is None:
            assert self.refresh().status_code == 200
        headers = {"Authorization": f"Bearer {self.access_token}", "Xero-Tenant-Id": tenant or self.tenant,
                   "Accept": "application/json"}
        if since is not None:
            headers["If-Modified-Since"] = format_datetime(since, usegmt=True)
        return requests.get(f"{self.base}/{path}", params=params, headers=headers, timeout=10)

    def walk(self, collection, params=None, since=None) -> list[dict]:
        """page=1, 2, ... until a short page, as Xero documents for paged endpoints."""
        out, page = [], 1
        while True:
            r = self.get(collection, {**(params or {}), "page": page}, since)
            assert r.status_code == 200, r.text
            body = json.loads(r.text, parse_float=Decimal)  # amounts as Decimal, never float
            assert body["Status"] == "OK" and body["pagination"]["page"] == page
            out.extend(body[collection])
            if len(body[collection]) < body["pagination"]["pageSize"]:
                assert body["pagination"]["itemCount"] == len(out)
                return out
            page += 1


@pytest.fixture(scope="module")
def org():
    world = World(seed=11, scale=300, start=START)
    with serve_world(world) as server:
        yield world, Xero(server.settings())


def test_every_stream_walks_to_exactly_the_organisations_records(org):
    world, xero = org
    store = world.xero
    invoices = xero.walk("Invoices")
    assert [i["InvoiceID"] for i in invoices] == [store.invoice_id(i) for i in store.invoices]
    orders = world.woocommerce.orders
    for doc, inv in zip(invoices, store.invoices, strict=True):
        assert doc["Type"] == "ACCREC" and doc["Reference"] == str(inv.order.id)
        assert doc["Total"] == store.invoice_total(inv.order.id) == doc["SubTotal"] + doc["TotalTax"]
        assert doc["Total"].as_tuple().exponent == -2  # two decimals, sent as a JSON number
        assert doc["UpdatedDateUTC"].startswith("/Date(") and doc["UpdatedDateUTC"].endswith("+0000)/")
        skus = [line["ItemCode"] for line in doc["LineItems"] if "ItemCode" in line]
        assert skus == [line.sku for line in inv.order.lines]
        assert {line["TaxType"] for line in doc["LineItems"]} <= {"OUTPUT", "EXEMPTOUTPUT"}
        if store.invoice_faults.get(inv.order.id) is None:
            assert doc["Total"] == order_totals(orders[inv.order.id])["total"]
    assert {i["Status"] for i in invoices} >= {"PAID", "VOIDED", "DRAFT"}

    everything = xero.get("Invoices").json()  # no page: the whole set, but without line items
    assert len(everything["Invoices"]) == len(invoices) and "pagination" not in everything
    assert all("LineItems" not in i for i in everything["Invoices"])
    big = xero.get("Invoices", {"page": 1, "pageSize": 5000}).json()
    assert big["pagination"]["pageSize"] == 1000 and len(big["Invoices"]) == len(invoices)

    active = xero.walk("Contacts")
    every = xero.walk("Contacts", {"includeArchived": "true"})
    archived = {store.contact_id(c) for c in store.contact_list if c.status == "ARCHIVED"}
    assert archived and {c["ContactID"] for c in every} == {store.contact_id(c) for c in store.contact_list}
    assert {c["ContactID"] for c in active} == {c["ContactID"] for c in every} - archived
    people = {p.person_id: p for p in world.people}
    truth = store.contact_person()
    for c in every:
        person = people[truth[c["ContactID"]]]
        assert c["EmailAddress"].strip().lower() == person.email and person.last_name in c["Name"].title()

    payments = xero.walk("Payments")
    assert [p["PaymentID"] for p in payments] == [store.payment_id(p) for p in store.payments]
    assert {p["PaymentType"] for p in payments} == {"ACCRECPAYMENT", "ARCREDITPAYMENT"}
    credit_notes = xero.walk("CreditNotes")
    refunded = {o.id for o in orders.values() if o.status == "refunded" and o.id in store.invoice_by_order}
    assert {c["Reference"] for c in credit_notes} == {str(o) for o in refunded} and refunded

    items = xero.get("Items", {"page": 1}).json()  # unpaged: page is ignored
    assert "pagination" not in items and {i["Code"] for i in items["Items"]} == {c.sku for c in CATALOG}
    assert any(i["Name"] != next(c.name for c in CATALOG if c.sku == i["Code"]) for i in items["Items"])
    accounts = xero.get("Accounts").json()["Accounts"]
    assert {"090", "200", "820"} <= {a["Code"] for a in accounts}


def test_invoice_faults_are_exactly_what_a_reconciliation_sees(org):
    world, xero = org
    invoices = {i["Reference"]: i for i in xero.walk("Invoices")}
    seen: dict[int, str] = {}
    for order in world.woocommerce.orders.values():
        doc = invoices.get(str(order.id))
        if doc is None:
            seen[order.id] = "missing"
        elif doc["Status"] in ("VOIDED", "DELETED"):
            seen[order.id] = "voided"
        elif doc["Total"] != order_totals(order)["total"]:
            seen[order.id] = "amount_mismatch"
    assert seen == world.xero.current_invoice_faults()
    kinds = sorted(seen.values())
    assert {"missing", "amount_mismatch", "voided"} == set(kinds)
    cancelled = {o.id for o in world.woocommerce.orders.values() if o.status in ("cancelled", "failed")}
    assert {o for o, k in seen.items() if k == "voided"} == cancelled - {o for o, k in seen.items() if k == "missing"}


def test_refresh_tokens_rotate_and_the_old_one_dies_after_the_grace_period():
    world = World(seed=11, scale=60, start=START)
    clock = {"now": 1_900_000_000.0}
    auth = world.xero.auth
    auth.clock = lambda: clock["now"]
    with serve_world(world) as server:
        xero = Xero(server.settings())
        r0 = xero.refresh_token
        r = xero.refresh()
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
        body = r.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
        r1 = body["refresh_token"]
        assert r1 != r0 and auth.live_refresh_tokens() == {r0, r1} and auth.current_refresh_token == r1
        clock["now"] += 600
        assert xero.refresh().status_code == 200
        r2 = xero.refresh_token
        assert auth.live_refresh_tokens() == {r0, r1, r2}
        clock["now"] += 1201  # r0 was superseded 1801 s ago: past the 30-minute grace
        stale = requests.post(xero.token_url, auth=xero.client, timeout=10,
                              data={"grant_type": "refresh_token", "refresh_token": r0})
        assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
        assert auth.live_refresh_tokens() == {r1, r2}
        clock["now"] += 600
        assert auth.live_refresh_tokens() == {r2}
        bad_client = requests.post(xero.token_url, auth=(xero.client[0], "nope"), timeout=10,
                                   data={"grant_type": "refresh_token", "refresh_token": r2})
        assert bad_client.status_code == 400 and bad_client.json() == {"error": "invalid_client"}
        wrong_grant = requests.post(xero.token_url, auth=xero.client, timeout=10,
                                    data={"grant_type": "client_credentials"})
        assert wrong_grant.json() == {"error": "unsupported_grant_type"}
        assert server.settings()["SOURCES__XERO__REFRESH_TOKEN"] == r2  # the sandbox prints the live one
    reborn = World(seed=11, scale=60, start=START)  # a sandbox restart: same seed, fresh identity state
    with serve_world(reborn) as server:
        again = Xero(server.settings())
        again.refresh_token = r2  # persisted by the source: still accepted after the restart
        assert again.refresh().status_code == 200
        again.refresh_token = r1  # older than the newest seen: dead
        assert again.refresh().json() == {"error": "invalid_grant"}


def test_access_tokens_expire_and_tenant_is_required():
    world = World(seed=11, scale=60, start=START)
    clock = {"now": 1_900_000_000.0}
    world.xero.auth.clock = lambda: clock["now"]
    with serve_world(world) as server:
        xero = Xero(server.settings())
        assert xero.get("Invoices", {"page": 1}).status_code == 200
        clock["now"] += 1799
        assert xero.get("Accounts").status_code == 200
        clock["now"] += 1
        r = xero.get("Accounts")
        assert r.status_code == 401 and "X-DayLimit-Remaining" in r.headers
        body = r.json()
        assert body["Title"] == "Unauthorized" and body["Status"] == 401 and body["Type"] is None
        assert body["Detail"].startswith("TokenExpired: token expired at ") and set(body) == {
            "Type", "Title", "Status", "Detail", "Instance", "Extensions"}
        assert xero.refresh().status_code == 200 and xero.get("Accounts").status_code == 200
        xero.access_token = "not-a-token"
        r = xero.get("Accounts")
        assert r.status_code == 401 and r.json()["Detail"] == "AuthenticationUnsuccessful"
        assert xero.refresh().status_code == 200
        wrong = xero.get("Invoices", tenant="00000000-0000-0000-0000-000000000000")
        missing = requests.get(f"{xero.base}/Invoices", headers={"Authorization": f"Bearer {xero.access_token}"},
                               timeout=10)
        for r in (wrong, missing):
            assert r.status_code == 403
            assert r.json()["Title"] == "Forbidden" and r.json()["Detail"] == "AuthenticationUnsuccessful"


def test_if_modified_since_returns_exactly_the_changes_after_advance():
    world = World(seed=13, scale=300, start=START)
    store = world.xero
    with serve_world(world) as server:
        xero = Xero(server.settings())
        t0 = world.clock.now()
        before = len(store.invoices)
        changes = world.advance(6)
        changed = changes["xero"]
        invoices = xero.walk("Invoices", {"order": "UpdatedDateUTC ASC"}, since=t0)
        assert {i["InvoiceID"] for i in invoices} == changed["invoices"] and len(invoices) == len(changed["invoices"])
        stamps = [int(i["UpdatedDateUTC"][6:-7]) for i in invoices]
        assert stamps == sorted(stamps) and min(stamps) > t0.timestamp() * 1000
        new_orders = {o.id for o in world.woocommerce.orders.values() if o.created > t0}
        missing_now = {o for o in new_orders if store.invoice_faults.get(o) == "missing"}
        fresh = {int(i["Reference"]) for i in invoices if int(i["InvoiceNumber"][4:]) > before}
        assert fresh == new_orders - missing_now and fresh
        contacts = xero.walk("Contacts", {"includeArchived": "true", "order": "UpdatedDateUTC ASC"}, since=t0)
        assert {c["ContactID"] for c in contacts} == changed["contacts"]
        payments = xero.walk("Payments", {"order": "UpdatedDateUTC ASC"}, since=t0)
        assert {p["PaymentID"] for p in payments} == changed["payments"]
        assert {c["CreditNoteID"] for c in xero.walk("CreditNotes", since=t0)} == changed["credit_notes"]
        gone = changes["woocommerce"]["orders_deleted"] | {
            o.id for o in world.woocommerce.orders.values() if o.trashed}
        cancelled = {str(o) for o in gone if o in store.invoice_by_order}
        assert cancelled and {i["Reference"] for i in invoices if i["Status"] in ("VOIDED", "DELETED")} == cancelled
        assert all(store.invoice_faults[int(ref)] == "voided" for ref in cancelled)
        items = xero.get("Items", since=t0).json()["Items"]
        assert items == []  # nothing in the catalog changed
        r = xero.get("Invoices", {"page": 1}, since=None)
        r_bad = requests.get(f"{xero.base}/Invoices", headers={
            "Authorization": f"Bearer {xero.access_token}", "Xero-Tenant-Id": xero.tenant,
            "If-Modified-Since": "yesterday-ish"}, timeout=10)
        assert r.status_code == 200 and r_bad.status_code == 400


def test_minute_limit_429_then_wait_out_retry_after():
    world = World(seed=11, scale=60, start=START)
    clock = {"now": 5_000.0}
    world.xero.limiter.clock = lambda: clock["now"]
    with serve_world(world, "xero:rate_limit=minute") as server:
        xero = Xero(server.settings())
        seen = []
        for _ in range(5):
            r = xero.get("Accounts")
            assert r.status_code == 200
            seen.append(r.headers["X-MinLimit-Remaining"])
        assert seen == ["4", "3", "2", "1", "0"] and r.headers["X-DayLimit-Remaining"] == "4995"
        clock["now"] += 20
        r = xero.get("Accounts")
        assert r.status_code == 429 and r.headers["X-Rate-Limit-Problem"] == "minute"
        assert r.headers["Retry-After"] == "40" and "rate%20limit%20exceeded" in r.text
        assert r.headers["X-MinLimit-Remaining"] == "0" and "X-AppMinLimit-Remaining" in r.headers
        clock["now"] += int(r.headers["Retry-After"])
        assert xero.get("Accounts").status_code == 200


def test_day_limit_blocks_every_call_until_reset_through_the_store():
    world = World(seed=11, scale=60, start=START)
    with serve_world(world, "xero:rate_limit=day") as server:
        xero = Xero(server.settings())
        for path in ("Invoices", "Contacts", "Accounts"):
            r = xero.get(path)
            assert r.status_code == 429 and r.headers["X-Rate-Limit-Problem"] == "day"
            assert int(r.headers["Retry-After"]) > 80_000 and r.headers["X-DayLimit-Remaining"] == "0"
        world.xero.limiter.reset_day()
        r = xero.get("Accounts")
        assert r.status_code == 200 and r.headers["X-DayLimit-Remaining"] == "4999"


def test_limits_headers_without_faults_and_the_concurrency_cap():
    world = World(seed=11, scale=60, start=START)
    with serve_world(world) as server:
        xero = Xero(server.settings())
        for _ in range(65):  # limits off: never a 429, but the counts are still reported
            r = xero.get("Accounts")
            assert r.status_code == 200
        assert r.headers["X-MinLimit-Remaining"] == "0" and r.headers["X-DayLimit-Remaining"] == str(5000 - 65)
    limiter, tenant = world.xero.limiter, world.xero.tenant_id
    limiter.reset()
    for _ in range(5):
        assert limiter.acquire(tenant, 60, enforce=True)[0] is None
    problem, retry, _ = limiter.acquire(tenant, 60, enforce=True)
    assert problem == "concurrent" and retry == 1
    limiter.release(tenant)
    assert limiter.acquire(tenant, 60, enforce=True)[0] is None


def test_same_seed_gives_byte_identical_responses():
    bodies = []
    for _ in range(2):
        world = World(seed=5, scale=150, start=START)
        world.advance(3)
        with serve_world(world) as server:
            xero = Xero(server.settings())
            bodies.append(b"".join(
                xero.get(path, params).content for path, params in (
                    ("Invoices", {"page": 1}), ("Invoices", {"page": 2}), ("Contacts", {"includeArchived": "true"}),
                    ("Payments", {"page": 1}), ("CreditNotes", {"page": 1}), ("Items", None), ("Accounts", None))))
    assert bodies[0] == bodies[1] and len(bodies[0]) > 100_000


def test_drift_and_bad_data_visibly_change_records():
    world = World(seed=11, scale=200, start=START)
    store = world.xero
    with serve_world(world, "xero:drift=type_change") as server:
        doc = Xero(server.settings()).get("Invoices", {"page": 1}).json()["Invoices"][0]
        assert isinstance(doc["Total"], str) and isinstance(doc["LineItems"][0]["Quantity"], str)
    with serve_world(world, "xero:drift=object_to_list") as server:
        doc = Xero(server.settings()).get("Invoices", {"page": 1}).json()["Invoices"][0]
        assert isinstance(doc["Contact"], list) and doc["Contact"][0]["ContactID"]
    with serve_world(world, "xero:drift=new_field") as server:
        doc = Xero(server.settings()).get("Invoices", {"page": 1}).json()["Invoices"][0]
        assert "RepeatingInvoiceID" in doc
    truth = store.bad_data_records()
    assert all(truth.values())
    with serve_world(world, "xero:bad_data=on") as server:
        xero = Xero(server.settings())
        invoices = xero.walk("Invoices")
        assert {i["InvoiceID"] for i in invoices
                if i["Total"] != i["SubTotal"] + i["TotalTax"]} == truth["invoices_total_mismatch"]
        assert {i["InvoiceID"] for i in invoices
                if any(line["Quantity"] < 0 for line in i["LineItems"])} == truth["invoices_negative_quantity"]
        contacts = xero.walk("Contacts", {"includeArchived": "true"})
        assert {c["ContactID"] for c in contacts if not c["EmailAddress"]} == truth["contacts_missing_email"]


def test_rate_limit_off_drops_every_limit_header_for_benchmarks():
    world = World(seed=11, scale=60, start=START)
    with serve_world(world) as server:
        limited = Xero(server.settings()).get("Invoices", {"page": 1})
    with serve_world(world, faults="*:rate_limit=off") as server:
        unlimited = Xero(server.settings()).get("Invoices", {"page": 1})
        shop = requests.get(f"{server.settings()['SOURCES__LIGHTSPEED__BASE_URL']}/sales", timeout=10, headers={
            "Authorization": f"Bearer {server.settings()['SOURCES__LIGHTSPEED__ACCESS_TOKEN']}"})
    assert limited.headers["X-MinLimit-Remaining"] and limited.headers["X-DayLimit-Remaining"]
    assert unlimited.status_code == 200 and unlimited.json()["Invoices"] == limited.json()["Invoices"]
    assert not [h for h in unlimited.headers if "limit" in h.lower()]
    assert shop.status_code == 200 and not [h for h in shop.headers if "limit" in h.lower()]
