"""The simulated WooCommerce API, walked by a plain client that follows only the vendor's docs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from conftest import serve_world

from sandbox.woocommerce.api import CONSUMER_KEY, CONSUMER_SECRET
from sandbox.woocommerce.render import STORE_TZ
from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
AUTH = (CONSUMER_KEY, CONSUMER_SECRET)


@pytest.fixture(scope="module")
def shop():
    world = World(seed=11, scale=300, start=START)
    with serve_world(world) as server:
        yield world, f"{server.base_url}/woocommerce/wp-json/wc/v3"


def walk(url, params, auth=AUTH):
    """Follow Link rel=next, as WooCommerce documents."""
    items, pages, first = [], 0, None
    while url:
        r = requests.get(url, params=params, auth=auth, timeout=10)
        r.raise_for_status()
        first = first or r
        items.extend(r.json())
        pages += 1
        url, params = r.links.get("next", {}).get("url"), None
    return items, pages, first


def test_orders_walk_returns_exactly_the_live_orders(shop):
    world, base = shop
    items, pages, first = walk(f"{base}/orders", {"per_page": 100})
    live = {o.id for o in world.woocommerce.orders.values() if not o.trashed}
    assert [o["id"] for o in items if o["id"] in live] == [o["id"] for o in items]
    assert {o["id"] for o in items} == live and len(items) == len(live)
    assert int(first.headers["X-WP-Total"]) == len(live)
    assert int(first.headers["X-WP-TotalPages"]) == pages == -(-len(live) // 100)
    by_id = {o["id"]: o for o in items}
    for order in list(world.woocommerce.orders.values())[:50]:
        assert by_id[order.id]["total"] == f"{order_totals(order)['total']:.2f}"  # money is a string
    line = items[0]["line_items"][0]
    assert isinstance(line["price"], float) and isinstance(line["total"], str)


def test_default_order_is_newest_first_and_per_page_is_capped(shop):
    _, base = shop
    r = requests.get(f"{base}/orders", auth=AUTH, timeout=10)
    dates = [o["date_created_gmt"] for o in r.json()]
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)
    r = requests.get(f"{base}/orders", params={"per_page": 101}, auth=AUTH, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == "rest_invalid_param"


def test_credentials_in_query_string_work_and_wrong_ones_are_refused(shop):
    _, base = shop
    ok = requests.get(f"{base}/products", params={"consumer_key": CONSUMER_KEY,
                                                    "consumer_secret": CONSUMER_SECRET}, timeout=10)
    assert ok.status_code == 200 and len(ok.json()) == 10
    bad = requests.get(f"{base}/orders", auth=(CONSUMER_KEY, "cs_wrong"), timeout=10)
    assert bad.status_code == 401
    assert bad.json() == {"code": "woocommerce_rest_authentication_error",
                          "message": "Invalid signature - provided signature does not match.",
                          "data": {"status": 401}}
    none = requests.get(f"{base}/orders", timeout=10)
    assert none.status_code == 401 and none.json()["code"] == "woocommerce_rest_cannot_view"


def test_modified_after_is_store_local_unless_dates_are_gmt(shop):
    world, base = shop
    cutoff = START - timedelta(days=2)
    gmt_text = cutoff.strftime("%Y-%m-%dT%H:%M:%S")
    expected = {o.id for o in world.woocommerce.orders.values() if not o.trashed and o.modified > cutoff}
    got, _, _ = walk(f"{base}/orders", {"per_page": 100, "modified_after": gmt_text, "dates_are_gmt": "true"})
    assert {o["id"] for o in got} == expected
    # the classic bug: the same string without dates_are_gmt is read in Melbourne time (UTC+11),
    # eleven hours earlier, so a client that meant UTC gets a different set
    as_local = cutoff.replace(tzinfo=None).replace(tzinfo=STORE_TZ).astimezone(timezone.utc)
    expected_local = {o.id for o in world.woocommerce.orders.values() if not o.trashed and o.modified > as_local}
    got_local, _, _ = walk(f"{base}/orders", {"per_page": 100, "modified_after": gmt_text})
    assert {o["id"] for o in got_local} == expected_local
    assert expected < expected_local


def test_after_filters_on_created_not_modified(shop):
    world, base = shop
    cutoff = START - timedelta(days=5)
    got, _, _ = walk(f"{base}/orders", {"per_page": 100, "after": cutoff.isoformat()})
    assert {o["id"] for o in got} == {o.id for o in world.woocommerce.orders.values()
                                      if not o.trashed and o.created > cutoff}


def test_customers_ignore_modified_after(shop):
    world, base = shop
    got, _, _ = walk(f"{base}/customers", {"per_page": 100, "modified_after": "2030-01-01T00:00:00"})
    assert len(got) == len(world.woocommerce.customers)


def test_customers_include_limits_to_those_ids_and_id_desc_pages_newest_first(shop):
    world, base = shop
    customers = world.woocommerce.customers
    wanted = sorted(customers)[5:50]  # 45 of the 75: more than two pages of 20
    asked = list(reversed(wanted)) + [10**9]  # an id no customer has is simply not found
    got, pages, first = walk(f"{base}/customers", {"per_page": 20, "include": ",".join(map(str, asked)),
                                                   "orderby": "include"})
    assert [c["id"] for c in got] == list(reversed(wanted))  # in the order asked
    assert pages == 3 and int(first.headers["X-WP-Total"]) == len(wanted) < len(customers)
    assert {c["email"] for c in got} == {customers[cid].email for cid in wanted}
    by_id, _, _ = walk(f"{base}/customers", {"per_page": 100, "include": ",".join(map(str, asked)),
                                             "orderby": "id", "order": "desc"})
    assert [c["id"] for c in by_id] == sorted(wanted, reverse=True)
    newest = requests.get(f"{base}/customers", params={"per_page": 7, "orderby": "id", "order": "desc"},
                          auth=AUTH, timeout=10)
    assert [c["id"] for c in newest.json()] == sorted(customers, reverse=True)[:7]
    assert int(newest.headers["X-WP-Total"]) == len(customers)
    bad = requests.get(f"{base}/customers", params={"include": "3,x"}, auth=AUTH, timeout=10)
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"


def test_advance_shows_changes_trash_and_force_deletes():
    world = World(seed=12, scale=200, start=START)
    with serve_world(world) as server:
        base = f"{server.base_url}/woocommerce/wp-json/wc/v3"
        before = world.clock.now()
        changes = world.advance(6)["woocommerce"]
        since = before.strftime("%Y-%m-%dT%H:%M:%S")
        changed, _, _ = walk(f"{base}/orders", {"per_page": 100, "modified_after": since,
                                                "dates_are_gmt": "true", "orderby": "modified", "order": "asc"})
        trashed, _, _ = walk(f"{base}/orders", {"per_page": 100, "status": "trash", "modified_after": since,
                                                "dates_are_gmt": "true"})
        assert {o["id"] for o in changed} | {o["id"] for o in trashed} == changes["orders"]
        assert len(trashed) == 1 and trashed[0]["status"] == "trash"
        (gone,) = changes["orders_deleted"]
        assert requests.get(f"{base}/orders/{gone}", auth=AUTH, timeout=10).status_code == 404
        modified = [o["date_modified_gmt"] for o in changed]
        assert modified == sorted(modified)
        customers, _, _ = walk(f"{base}/customers", {"per_page": 100})
        assert {c["id"] for c in customers if c["date_modified_gmt"] > since} == changes["customers"]


def test_same_seed_same_bytes():
    bodies = []
    for _ in range(2):
        world = World(seed=5, scale=150, start=START)
        world.advance(3)
        with serve_world(world) as server:
            base = f"{server.base_url}/woocommerce/wp-json/wc/v3"
            bodies.append(b"".join(
                requests.get(f"{base}/{path}", params={"per_page": 100, "page": page, "orderby": "id"},
                             auth=AUTH, timeout=10).content
                for path in ("orders", "customers", "products") for page in (1, 2)))
    assert bodies[0] == bodies[1] and len(bodies[0]) > 10_000
