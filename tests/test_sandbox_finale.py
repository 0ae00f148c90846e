"""The simulated Finale Inventory API, read by a plain client that follows only the vendor's docs."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from sandbox.faults import FaultPlan
from sandbox.finale.api import API_KEY, API_SECRET, FinaleAPI
from sandbox.server import SandboxServer
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
AUTH = (API_KEY, API_SECRET)
COLLECTIONS = {"product": "productId", "order": "orderId", "shipment": "shipmentId", "partygroup": "partyId",
               "facility": "facilityId"}


@contextlib.contextmanager
def serve(world, faults: str | None = None):
    with SandboxServer(world, faults=FaultPlan.parse(faults)) as server:
        base = server.settings()["SOURCES__FINALE__BASE_URL"]
        assert base == f"{server.base_url}/finale/redhillfresh/api"
        assert server.settings()["SOURCES__FINALE__API_KEY"] == API_KEY
        yield base


def rows_of(body: dict) -> list[dict]:
    """Zip Finale's column-major arrays into rows; unequal arrays are a malformed response."""
    lengths = {len(v) for v in body.values()}
    if len(lengths) > 1:
        raise ValueError(f"malformed column-major response: array lengths {sorted(lengths)}")
    return [dict(zip(body, values, strict=True)) for values in zip(*body.values(), strict=True)]


def flt(spec: dict) -> str:
    return base64.b64encode(json.dumps(spec).encode()).decode()


def get(base: str, collection: str, spec: dict | None = None, auth=AUTH, **params) -> requests.Response:
    if spec is not None:
        params["filter"] = flt(spec)
    return requests.get(f"{base}/{collection}", params=params, auth=auth, timeout=10)


def fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def changed_since(base: str, collection: str, cursor: str, now: datetime) -> list[dict]:
    """Windows of at most 30 days from the cursor up to now (the last one open-ended), as documented."""
    rows = []
    low = datetime.fromisoformat(cursor).replace(tzinfo=timezone.utc)
    while True:
        high = low + timedelta(days=30)
        r = get(base, collection, {"lastUpdatedDate": [fmt(low), None if high >= now else fmt(high)]})
        assert r.status_code == 200, r.text
        rows.extend(rows_of(r.json()))
        if high >= now:
            return rows
        low = high


@pytest.fixture(scope="module")
def account():
    world = World(seed=11, scale=200, start=START)
    with serve(world) as base:
        yield world, base


def test_collections_are_column_major_and_hold_exactly_the_stores_records(account):
    world, base = account
    store = world.finale
    expected = {"product": set(store.products), "order": set(store.orders), "shipment": set(store.shipments),
                "partygroup": set(store.parties), "facility": set(store.facilities)}
    seen = {}
    for collection, key in COLLECTIONS.items():
        r = get(base, collection)
        assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "120"
        body = r.json()
        assert isinstance(body, dict) and all(isinstance(v, list) for v in body.values())
        rows = rows_of(body)
        assert {row[key] for row in rows} == expected[collection] and len(rows) == len(expected[collection])
        seen[collection] = {row[key]: row for row in rows}
    facilities = {row["facilityUrl"]: row["facilityName"] for row in seen["facility"].values()}
    assert sorted(facilities.values()) == ["MORN Shop", "Main Warehouse", "RH Shop"]
    assert facilities["/redhillfresh/api/facility/100000"] == "Main Warehouse"
    for sku, product in store.products.items():
        row = seen["product"][sku]
        assert row["productUrl"] != f"/redhillfresh/api/product/{sku}"  # the URL holds Finale's own number
        assert row["internalName"] == product.description and row["quantityUomId"] == product.uom
        assert Decimal(str(row["priceList"][0]["price"])) == product.price
        assert {g["facilityUrl"] for g in row["reorderGuidelineList"]} == set(facilities)
    assert {row["quantityUomId"] for row in seen["product"].values()} == {"kg", "ea", "bunch"}
    orders = seen["order"].values()
    assert {o["orderTypeId"] for o in orders} == {"PURCHASE_ORDER", "SALES_ORDER"}
    suppliers = {p for p, row in seen["partygroup"].items() if row["roleTypeIdList"] == ["SUPPLIER"]}
    assert all(o["orderRoleList"][0]["partyId"] in suppliers for o in orders if o["orderTypeId"] == "PURCHASE_ORDER")
    received = [s for s in seen["shipment"].values() if s["statusId"] == "SHIPMENT_RECEIVED"]
    assert received and all(seen["order"][s["primaryOrderUrl"].rsplit("/", 1)[1]]["orderTypeId"] == "PURCHASE_ORDER"
                            for s in received)
    assert all(len(row["lastUpdatedDate"]) == 19 and "T" in row["lastUpdatedDate"] for row in orders)

    # stock: a client sums quantityOnHand per product and facility, leaving on-order and reserved rows out
    r = get(base, "inventoryitem")
    items = rows_of(r.json())
    assert any(i["quantityOnOrder"] for i in items) and any(i["quantityReserved"] for i in items)
    assert all(sum(1 for q in ("quantityOnHand", "quantityOnOrder", "quantityReserved") if i[q]) == 1 for i in items)
    on_hand: dict = {}
    for i in items:
        key = (i["productId"], facilities[i["facilityUrl"]])
        on_hand[key] = on_hand.get(key, Decimal(0)) + Decimal(str(i["quantityOnHand"]))
    truth = world.finale.stock_on_hand()
    assert {k: v for k, v in on_hand.items() if v} == {k: v for k, v in truth.items() if v}
    assert len(truth) == len(store.products) * 3


def test_lastupdateddate_filter_returns_exactly_the_changes_after_advance():
    world = World(seed=11, scale=200, start=START)
    with serve(world) as base:
        cursors = {}
        for collection in COLLECTIONS:
            rows = rows_of(get(base, collection).json())
            cursors[collection] = max(row["lastUpdatedDate"] for row in rows)
        before = {k: v for k, v in world.finale.stock_on_hand().items()}
        changes = world.advance(6)["finale"]
        assert changes["order"] and changes["shipment"] and changes["product"] and changes["inventoryitem"]
        now, fresh = world.clock.now(), {}
        for collection, key in COLLECTIONS.items():
            rows = changed_since(base, collection, cursors[collection], now)
            assert all(row["lastUpdatedDate"] >= cursors[collection] for row in rows)  # closed range
            newer = {row[key] for row in rows if row["lastUpdatedDate"] > cursors[collection]}
            assert newer == changes[collection], collection
            fresh[collection] = [row for row in rows if row[key] in newer]
        receipts = [s for s in fresh["shipment"] if s["shipmentTypeId"] == "PURCHASE_SHIPMENT"]
        assert receipts and all(s["statusId"] == "SHIPMENT_RECEIVED" for s in receipts)
        received = {o["orderId"] for o in fresh["order"] if o["statusId"] == "ORDER_COMPLETED"}
        assert {s["primaryOrderUrl"].rsplit("/", 1)[1] for s in receipts} <= received
        assert any(o["statusId"] == "ORDER_LOCKED" and o["orderTypeId"] == "PURCHASE_ORDER" for o in fresh["order"])
        lots = {(i["productId"], i["lotId"]) for i in rows_of(get(base, "inventoryitem").json()) if i["lotId"]}
        assert {(i["productId"], i["lotId"]) for s in receipts for i in s["shipmentItemList"]} & lots
        # the shops' Lightspeed sales took stock out of the shop facilities
        after = world.finale.stock_on_hand()
        assert any(after[k] < before[k] for k in after if k[1] in ("RH Shop", "MORN Shop"))
        purchases = rows_of(get(base, "order", {"orderTypeId": ["PURCHASE_ORDER", "PURCHASE_ORDER"]}).json())
        assert purchases and {o["orderTypeId"] for o in purchases} == {"PURCHASE_ORDER"}
        assert len(purchases) == sum(1 for o in world.finale.orders.values() if o.type_id == "PURCHASE_ORDER")


def test_filter_rules_are_enforced(account, monkeypatch):
    world, base = account
    now = world.clock.now()
    r = get(base, "order", {"lastUpdatedDate": [fmt(now - timedelta(days=45)), fmt(now)]})
    assert r.status_code == 400 and "30 days" in r.text
    r = get(base, "order", {"lastUpdatedDate": [None, fmt(now)]})
    assert r.status_code == 400 and "lower bound" in r.text
    r = get(base, "order", {"lastUpdatedDate": [fmt(now - timedelta(days=40)), None]})  # no upper bound: up to now
    assert r.status_code == 400
    r = get(base, "order", {"lastUpdatedDate": ["2026-10-10", "2026-11-01"]})  # plain dates work
    assert r.status_code == 200 and rows_of(r.json())
    r = get(base, "inventoryitem", {"lastUpdatedDate": [fmt(now - timedelta(days=1)), None]})
    assert r.status_code == 400 and "inventoryitem" in r.text
    r = requests.get(f"{base}/order", params={"filter": "not base64 json!"}, auth=AUTH, timeout=10)
    assert r.status_code == 400
    monkeypatch.setattr(FinaleAPI, "max_entities", 10)  # the 120,000 cut, made small
    rows = rows_of(get(base, "order").json())
    assert len(rows) == 10
    assert [row["lastUpdatedDate"] for row in rows] == sorted(row["lastUpdatedDate"] for row in rows)


def test_wrong_credentials_get_401_and_the_legacy_session_cookie_works(account):
    _, base = account
    for auth in ((API_KEY, "wrong"), ("nobody", API_SECRET), None):
        r = get(base, "product", auth=auth)
        assert r.status_code == 401 and r.text == "Unauthorized"
    session = requests.Session()
    r = session.post(f"{base}/auth", json={"username": API_KEY, "password": "wrong"}, timeout=10)
    assert r.status_code == 401
    r = session.post(f"{base}/auth", json={"username": API_KEY, "password": API_SECRET}, timeout=10)
    assert r.status_code == 200 and "JSESSIONID" in session.cookies
    r = session.get(f"{base}/facility", timeout=10)
    assert r.status_code == 200 and len(rows_of(r.json())) == 3


def test_rate_limits_answer_429_with_a_unix_reset(monkeypatch):
    clock = {"now": 1_900_000_000.0}
    monkeypatch.setattr(FinaleAPI, "time_source", lambda: clock["now"])
    world = World(seed=3, scale=60, start=START)
    with serve(world, "finale:rate_limit=4") as base:  # 4 GET a minute, 10 collection reads an hour
        for n in range(4):
            r = get(base, "facility")
            assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == str(3 - n)
        r = get(base, "facility")
        assert r.status_code == 429 and r.headers["X-RateLimit-Reset"] == str(1_900_000_000 + 60)
        clock["now"] += 61
        for _ in range(4):
            assert get(base, "facility").status_code == 200
        clock["now"] += 61
        assert get(base, "facility").status_code == 200
        assert get(base, "facility").status_code == 200
        r = get(base, "facility")  # the 11th collection read within the hour
        assert r.status_code == 429 and int(r.headers["X-RateLimit-Reset"]) == 1_900_000_000 + 3600
        assert "collection reads per hour" in r.text
        clock["now"] = 1_900_000_000 + 3601
        assert get(base, "facility").status_code == 200


def test_same_seed_gives_byte_identical_responses():
    bodies = []
    for _ in range(2):
        world = World(seed=5, scale=80, start=START)
        world.advance(6)
        with serve(world) as base:
            bodies.append([get(base, c).content for c in (*COLLECTIONS, "inventoryitem")])
    assert bodies[0] == bodies[1]


def test_broken_columns_are_malformed_not_empty():
    world = World(seed=11, scale=60, start=START)
    with serve(world, "finale:drift=column_major_broken") as base:
        body = get(base, "product").json()
        lengths = {k: len(v) for k, v in body.items()}
        assert len(set(lengths.values())) == 2 and lengths["productId"] == len(world.finale.products)
        with pytest.raises(ValueError, match="malformed"):
            rows_of(body)


def test_drift_and_bad_data_visibly_change_records():
    world = World(seed=11, scale=60, start=START)
    with serve(world, "finale:drift=new_field") as base:
        body = get(base, "product").json()
        assert body["userFieldDataList"] == [[]] * len(world.finale.products)
    with serve(world, "finale:drift=type_change") as base:
        items = rows_of(get(base, "inventoryitem").json())
        assert all(isinstance(i["quantityOnHand"], str) for i in items)
        orders = rows_of(get(base, "order").json())
        assert isinstance(orders[0]["orderItemList"][0]["quantity"], str)
    with serve(world, "finale:drift=object_to_list") as base:
        facilities = rows_of(get(base, "facility").json())
        assert all(isinstance(f["address"], list) and f["address"][0]["city"] for f in facilities)
    bad = world.finale.bad_data
    with serve(world, "finale:bad_data=on") as base:
        parties = rows_of(get(base, "partygroup").json())
        no_email = {p["partyId"] for p in parties
                    if not any(c["contactMechTypeId"] == "EMAIL_ADDRESS" for c in p["contactMechList"])}
        assert no_email == bad["partygroups_missing_email"]
        items = rows_of(get(base, "inventoryitem").json())
        by_url = {f"/redhillfresh/api/facility/{fid}": fid for fid in world.finale.facilities}
        negative = {(i["productId"], by_url[i["facilityUrl"]], i["lotId"]) for i in items if i["quantityOnHand"] < 0}
        assert negative == bad["inventoryitems_negative"] and all(world.finale.stock[k].quantity > 0 for k in negative)
