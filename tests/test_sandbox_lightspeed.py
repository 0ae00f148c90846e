"""The simulated Lightspeed X-Series API 2.0, walked by a plain client that follows only the vendor's docs."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox.faults import FaultPlan
from sandbox.lightspeed.api import ACCESS_TOKEN, LightspeedAPI
from sandbox.lightspeed.store import sale_totals
from sandbox.server import SandboxServer
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
STREAMS = ("sales", "customers", "products", "inventory", "outlets", "registers")
AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
PREFIX = "/lightspeed/api/2.0"


@contextlib.contextmanager
def serve(world, faults: str | None = None):
    with SandboxServer(world, faults=FaultPlan.parse(faults)) as server:
        assert server.settings()["SOURCES__LIGHTSPEED__BASE_URL"] == f"{server.base_url}{PREFIX}"
        yield server.settings()["SOURCES__LIGHTSPEED__BASE_URL"]


def walk(base: str, stream: str, after: int = 0, page_size: int = 50, **params) -> tuple[list[dict], int, int]:
    """Page by version as documented: after=version.max until a page comes back empty."""
    rows, pages = [], 0
    while True:
        r = requests.get(f"{base}/{stream}", params={"after": after, "page_size": page_size, **params},
                         headers=AUTH, timeout=10)
        r.raise_for_status()
        body = r.json()
        pages += 1
        if not body["data"]:
            return rows, after, pages
        versions = [row["version"] for row in body["data"]]
        assert versions == sorted(versions) and body["version"] == {"min": versions[0], "max": versions[-1]}
        assert versions[0] > after
        rows.extend(body["data"])
        after = body["version"]["max"]


def expected_ids(store, stream: str, with_deleted: bool) -> set[str]:
    return {store.uid(stream, r.id) for r in getattr(store, stream).values()
            if with_deleted or getattr(r, "deleted", None) is None}


@pytest.fixture(scope="module")
def shop():
    world = World(seed=11, scale=200, start=START)
    with serve(world) as base:
        yield world, base


def test_every_stream_walks_to_exactly_the_stores_records_then_exactly_the_changes(shop):
    world, base = shop
    store = world.lightspeed
    cursors, seen = {}, {}
    for stream in STREAMS:
        rows, _, _ = walk(base, stream)
        assert [r["id"] for r in rows if r.get("deleted_at")] == []  # deleted rows only with deleted=true
        assert {r["id"] for r in rows} == expected_ids(store, stream, with_deleted=False)
        assert len(rows) == len({r["id"] for r in rows})
        rows, cursors[stream], pages = walk(base, stream, deleted="true")
        assert {r["id"] for r in rows} == expected_ids(store, stream, with_deleted=True)
        seen[stream] = {r["id"]: r for r in rows}
    assert pages == 2  # registers: one page of data, then the empty page that ends the walk

    # key fields against the store
    outlets = {o["id"]: o["name"] for o in seen["outlets"].values()}
    assert sorted(outlets.values()) == ["Mornington", "Red Hill"]
    assert sum(1 for r in seen["registers"].values() if outlets[r["outlet_id"]] == "Red Hill") == 2
    for product in store.products.values():
        row = seen["products"][store.uid("products", product.id)]
        assert row["sku"] == product.item.sku and row["name"] == product.name != product.item.name
        assert Decimal(str(row["price_including_tax"])) == product.price_incl
        assert Decimal(str(row["price_excluding_tax"])) == product.price_excl
    for customer in store.customers.values():
        row = seen["customers"][store.uid("customers", customer.id)]
        assert row["email"] == customer.email and row["first_name"] == customer.first_name
    assert any(r["email"] is None for r in seen["customers"].values())
    assert any(r["email"] and r["email"] != r["email"].strip().lower() for r in seen["customers"].values())
    for sale in store.sales.values():
        row = seen["sales"][store.uid("sales", sale.id)]
        totals = sale_totals(sale)
        assert Decimal(str(row["total_price"])) == totals["total_price"]
        assert Decimal(str(row["total_tax"])) == totals["total_tax"]
        assert len(row["line_items"]) == len(sale.lines) and row["status"] == sale.status
        assert sum(Decimal(str(p["amount"])) for p in row["payments"]) == totals["total_incl"]
    assert {r["status"] for r in seen["sales"].values()} == {"CLOSED", "VOIDED"}
    assert any(r["return_for"] and r["line_items"][0]["quantity"] < 0 for r in seen["sales"].values())

    # the revenue a correct client computes is the store's ground truth, day by shop day
    revenue: dict = {}
    for row in seen["sales"].values():
        if row["status"] != "CLOSED":
            continue
        day = datetime.fromisoformat(row["sale_date"]).astimezone(ZoneInfo("Australia/Melbourne")).date()
        key = (day, outlets[row["outlet_id"]])
        revenue[key] = revenue.get(key, Decimal(0)) + Decimal(str(row["total_price"])) + Decimal(str(row["total_tax"]))
    assert {k: v.quantize(Decimal("0.01")) for k, v in revenue.items()} == store.revenue_by_day_outlet()

    # time moves: the same cursors now return exactly what changed, deletions only with deleted=true
    changes = world.advance(6)["lightspeed"]
    assert changes["sales"] and changes["customers_deleted"] and changes["inventory"]
    for stream in STREAMS:
        rows, cursor, _ = walk(base, stream, after=cursors[stream], deleted="true")
        assert {r["id"] for r in rows} == changes[stream], stream
        assert all(r["version"] > cursors[stream] for r in rows)
        if rows:
            assert cursor > cursors[stream]
    deleted_rows, _, _ = walk(base, "customers", after=cursors["customers"], deleted="true")
    gone = changes["customers_deleted"]
    assert {r["id"] for r in deleted_rows if r["deleted_at"]} == gone
    plain, _, _ = walk(base, "customers", after=cursors["customers"])
    assert gone and not gone & {r["id"] for r in plain}  # a client without deleted=true misses the delete
    outlet_names = set(outlets.values())
    new_sales = [r for r in walk(base, "sales", after=cursors["sales"])[0] if r["id"] in changes["sales"]]
    assert {outlets[r["outlet_id"]] for r in new_sales} == outlet_names  # both shops trade


def test_page_size_is_clamped_to_200_and_bad_params_are_refused(shop):
    world, base = shop
    r = requests.get(f"{base}/sales", params={"page_size": 500}, headers=AUTH, timeout=10)
    assert r.status_code == 200 and len(r.json()["data"]) == 200 <= len(world.lightspeed.sales)
    r = requests.get(f"{base}/sales", params={"after": "abc"}, headers=AUTH, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "Bad Request"
    one = next(iter(world.lightspeed.sales.values()))
    r = requests.get(f"{base}/sales/{world.lightspeed.uid('sales', one.id)}", headers=AUTH, timeout=10)
    assert r.json()["data"]["invoice_number"] == world.lightspeed.invoice_number(one)


def test_wrong_or_missing_token_gets_401_with_the_vendor_body(shop):
    _, base = shop
    for headers in ({"Authorization": "Bearer not-the-token"}, {}, {"Authorization": f"Basic {ACCESS_TOKEN}"}):
        r = requests.get(f"{base}/sales", headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json() == {"error": "Unauthorized", "message": "The access token is missing, invalid or expired."}
        assert "X-RateLimit-Remaining" not in r.headers


def test_rate_limit_429_carries_retry_after_as_an_http_date(monkeypatch):
    clock = {"now": 1_900_000_000.0}
    monkeypatch.setattr(LightspeedAPI, "time_source", lambda: clock["now"])
    world = World(seed=3, scale=60, start=START)
    with serve(world) as base:  # fault off: the normal headers, the real formula (2 shops x 2 registers)
        r = requests.get(f"{base}/outlets", headers=AUTH, timeout=10)
        assert r.headers["X-RateLimit-Limit"] == str(300 * 4 + 50)
        assert r.headers["X-RateLimit-Remaining"] == str(300 * 4 + 50 - 1)
    with serve(world, "lightspeed:rate_limit=5") as base:
        for n in range(5):
            r = requests.get(f"{base}/outlets", headers=AUTH, timeout=10)
            assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == str(4 - n)
        clock["now"] += 100
        r = requests.get(f"{base}/outlets", headers=AUTH, timeout=10)
        assert r.status_code == 429
        assert r.json() == {"error": "Too Many Requests", "message": "Rate limiting enforced"}
        retry = r.headers["Retry-After"]
        assert not retry.isdigit() and retry.endswith(" GMT")
        assert parsedate_to_datetime(retry).timestamp() == 1_900_000_000 + 300
        clock["now"] += 201  # the 5-minute window is over
        assert requests.get(f"{base}/outlets", headers=AUTH, timeout=10).status_code == 200


def test_same_seed_gives_byte_identical_responses():
    bodies = []
    for _ in range(2):
        world = World(seed=5, scale=80, start=START)
        world.advance(6)
        with serve(world) as base:
            pages = []
            for stream in STREAMS:
                after = 0
                while True:
                    r = requests.get(f"{base}/{stream}", params={"after": after, "page_size": 40, "deleted": "true"},
                                     headers=AUTH, timeout=10)
                    pages.append(r.content)
                    if not r.json()["data"]:
                        break
                    after = r.json()["version"]["max"]
            bodies.append(pages)
    assert bodies[0] == bodies[1] and len(bodies[0]) > len(STREAMS)


def test_drift_changes_the_shape_of_records():
    world = World(seed=11, scale=60, start=START)
    with serve(world, "lightspeed:drift=new_field") as base:
        sale = walk(base, "sales", page_size=5)[0][0]
        assert sale["ecom_custom_charges"]["charges"] == []
        assert walk(base, "customers", page_size=200)[0][0]["loyalty_tier"] == "Standard"
    with serve(world, "lightspeed:drift=type_change") as base:
        sale = walk(base, "sales", page_size=200)[0][0]
        assert isinstance(sale["total_price"], str) and isinstance(sale["line_items"][0]["quantity"], str)
        assert isinstance(sale["version"], int)  # the cursor stays a number
        product = walk(base, "products", page_size=200)[0][0]
        assert isinstance(product["price_including_tax"], str)
    with serve(world, "lightspeed:drift=object_to_list") as base:
        sale = walk(base, "sales", page_size=200)[0][0]
        assert isinstance(sale["totals"], list) and {t["name"] for t in sale["totals"]} >= {"total_price"}
        assert isinstance(walk(base, "products", page_size=200)[0][0]["type"], list)


def test_bad_data_breaks_exactly_the_recorded_records():
    world = World(seed=11, scale=200, start=START)
    bad = world.lightspeed.bad_data
    with serve(world, "lightspeed:bad_data=on") as base:
        customers = {r["id"]: r for r in walk(base, "customers", page_size=200, deleted="true")[0]}
        sales = {r["id"]: r for r in walk(base, "sales", page_size=200, deleted="true")[0]}
    missing = {cid for cid, r in customers.items() if r["email"] is None}
    assert bad["customers_missing_email"] and bad["customers_missing_email"] <= missing
    for cid in bad["customers_missing_email"]:
        assert world.lightspeed.customers[next(c.id for c in world.lightspeed.customers.values()
                                               if world.lightspeed.uid("customers", c.id) == cid)].email
    negative = {sid for sid, r in sales.items() if not r["return_for"] and any(li["quantity"] < 0 for li in r["line_items"])}
    assert negative == bad["sales_negative_quantity"]
    off = {sid for sid, r in sales.items()
           if abs(sum(Decimal(str(li["price_total"])) for li in r["line_items"]) - Decimal(str(r["total_price"])))
           > Decimal("0.001")}
    assert bad["sales_bad_totals"] <= off and off <= bad["sales_bad_totals"] | bad["sales_negative_quantity"]
