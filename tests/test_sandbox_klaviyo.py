"""The simulated Klaviyo API, walked by a plain client that follows only Klaviyo's docs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from conftest import serve_world

from sandbox.klaviyo.api import API_KEY
from sandbox.klaviyo.store import PLACED_ORDER
from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
REVISION = "2024-10-15"
HEADERS = {"Authorization": f"Klaviyo-API-Key {API_KEY}", "revision": REVISION,
           "Accept": "application/vnd.api+json"}
E164 = re.compile(r"^\+614\d{8}$")


def z(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def walk(url, params=None, headers=HEADERS):
    """Follow links.next (a full URL carrying page[cursor]) until it is null, as Klaviyo documents."""
    records, pages = [], 0
    while url:
        r = requests.get(url, params=params, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/vnd.api+json")
        body = r.json()
        records.extend(body["data"])
        pages += 1
        url, params = body["links"]["next"], None
        if url:
            assert "page%5Bcursor%5D=" in url and url.startswith("http")
    return records, pages


@pytest.fixture(scope="module")
def account():
    world = World(seed=11, scale=200, start=START)
    with serve_world(world) as server:
        yield world, f"{server.base_url}/klaviyo/api"


def test_every_stream_walks_to_exactly_the_accounts_records(account):
    world, base = account
    store = world.klaviyo
    profiles, pages = walk(f"{base}/profiles/", {"page[size]": 100})
    assert pages == -(-len(store.profile_list) // 100)
    assert [p["id"] for p in profiles] == sorted(p.id for p in store.profile_list)  # default sort: id
    by_id = {p["id"]: p for p in profiles}
    people = {p.person_id: p for p in world.people}
    for p in store.profile_list:
        attrs = by_id[p.id]["attributes"]
        person = people[store.profile_person()[p.id]]
        assert attrs["email"].strip().lower() == person.email  # the same person, typed their own way
        assert attrs["updated"] == p.updated.strftime("%Y-%m-%dT%H:%M:%S+00:00")
        assert attrs["phone_number"] is None or E164.match(attrs["phone_number"])
        assert "subscriptions" not in attrs  # only with additional-fields[profile]=subscriptions
    assert any(a["attributes"]["phone_number"] is None for a in profiles)
    assert any(a["attributes"]["email"] != a["attributes"]["email"].lower() for a in profiles)

    events, pages = walk(f"{base}/events/", {"page[size]": 200})
    assert pages == -(-store.event_count // 200)
    assert {e["id"] for e in events} == {store.event_id(i) for i in range(store.event_count)}
    assert len(events) == store.event_count
    stamps = [e["attributes"]["datetime"] for e in events]
    assert stamps == sorted(stamps)
    metrics, _ = walk(f"{base}/metrics")  # with and without the trailing slash
    metrics_slash, _ = walk(f"{base}/metrics/")
    assert metrics == metrics_slash
    assert [m["attributes"]["name"] for m in metrics] == ["Placed Order", "Received Email", "Opened Email",
                                                           "Clicked Email"]
    placed_id = metrics[PLACED_ORDER]["id"]
    placed = [e for e in events if e["relationships"]["metric"]["data"]["id"] == placed_id]
    orders = world.woocommerce.orders
    assert {int(e["attributes"]["event_properties"]["OrderId"]) for e in placed} == set(orders)
    assert len(placed) == len(orders)  # exactly one Placed Order per web order
    truth = store.placed_order_event_ids()
    for e in placed:
        props = e["attributes"]["event_properties"]
        order = orders[int(props["OrderId"])]
        assert truth[order.id] == e["id"] and props["$event_id"] == str(order.id)
        assert f"{props['$value']:.2f}" == f"{order_totals(order)['total']:.2f}"
        assert [i["SKU"] for i in props["Items"]] == [line.sku for line in order.lines]
        assert e["relationships"]["profile"]["data"]["id"] == store.profiles[order.person_id].id
    assert len(placed) < len(events)  # campaign engagement too

    lists, pages = walk(f"{base}/lists/")
    assert pages == 1 and [x["id"] for x in lists] == sorted(x.id for x in store.lists)
    assert {x["attributes"]["name"] for x in lists} == {"Newsletter", "Web Customers", "VIP Customers",
                                                        "SMS Subscribers"}
    email, _ = walk(f"{base}/campaigns/", {"filter": "equals(messages.channel,'email')"})
    sms, _ = walk(f"{base}/campaigns/", {"filter": "equals(messages.channel,'sms')"})
    assert {c["id"] for c in email} | {c["id"] for c in sms} == {c.id for c in store.campaigns}
    assert sms and {c["attributes"]["status"] for c in email} == {"Sent", "Scheduled", "Draft"}


def test_page_size_caps_and_cursor_paging(account):
    world, base = account
    for path, cap in (("profiles", 100), ("lists", 10), ("events", 200)):
        r = requests.get(f"{base}/{path}/", params={"page[size]": cap + 1}, headers=HEADERS, timeout=10)
        assert r.status_code == 400
        err = r.json()["errors"][0]
        assert err["status"] == 400 and err["code"] == "invalid" and err["source"] == {"parameter": "page[size]"}
    first = requests.get(f"{base}/profiles/", headers=HEADERS, timeout=10).json()
    assert len(first["data"]) == 20 and first["links"]["prev"] is None  # default page size
    second = requests.get(first["links"]["next"], headers=HEADERS, timeout=10).json()
    assert second["links"]["prev"] and {p["id"] for p in first["data"]}.isdisjoint(p["id"] for p in second["data"])
    back = requests.get(second["links"]["prev"], headers=HEADERS, timeout=10).json()
    assert back["data"] == first["data"]
    r = requests.get(f"{base}/profiles/", params={"page[cursor]": "not a cursor!"}, headers=HEADERS, timeout=10)
    assert r.status_code == 400


def test_filter_rules_are_the_real_apis(account):
    world, base = account
    now = world.clock.now()

    def err(path, flt):
        r = requests.get(f"{base}/{path}/", params={"filter": flt}, headers=HEADERS, timeout=10)
        assert r.status_code == 400, r.text
        return r.json()["errors"][0]

    e = err("profiles", f"greater-or-equal(updated,{z(now - timedelta(days=1))})")
    assert e["code"] == "invalid" and "greater-or-equal" in e["detail"] and e["source"] == {"parameter": "filter"}
    assert "timezone" in err("profiles", "greater-than(updated,2026-10-01T00:00:00)")["detail"]
    assert "future" in err("profiles", f"greater-than(updated,{z(now + timedelta(hours=1))})")["detail"]
    assert "future" in err("events", f"greater-or-equal(datetime,{z(now + timedelta(minutes=5))})")["detail"]
    assert "channel" in err("campaigns", "equals(status,'Sent')")["detail"]
    r = requests.get(f"{base}/campaigns/", headers=HEADERS, timeout=10)
    assert r.status_code == 400
    ok = requests.get(f"{base}/profiles/", params={
        "filter": "greater-than(updated,2026-10-01T00:00:00+00:00),less-than(updated,2026-10-15T00:00:00Z)",
        "sort": "-updated", "page[size]": 100}, headers=HEADERS, timeout=10)
    got = [p["attributes"]["updated"] for p in ok.json()["data"]]
    lo, hi = datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 10, 15, tzinfo=timezone.utc)
    assert got == sorted(got, reverse=True)
    assert len(got) == sum(1 for p in world.klaviyo.profile_list if lo < p.updated < hi) > 0


def test_suppressions_show_only_with_the_subscriptions_field(account):
    world, base = account
    store = world.klaviyo
    suppressed = [p for p in store.profile_list if p.suppression]
    assert suppressed
    p = suppressed[0]
    r = requests.get(f"{base}/profiles/{p.id}/", params={"additional-fields[profile]": "subscriptions"},
                     headers=HEADERS, timeout=10)
    marketing = r.json()["data"]["attributes"]["subscriptions"]["email"]["marketing"]
    assert marketing["suppression"] == [{"reason": p.suppression[0],
                                         "timestamp": p.suppression[1].strftime("%Y-%m-%dT%H:%M:%S+00:00")}]
    assert marketing["can_receive_email_marketing"] is False
    listed, _ = walk(f"{base}/profiles/", {"additional-fields[profile]": "subscriptions", "page[size]": 100})
    seen = {x["id"] for x in listed if x["attributes"]["subscriptions"]["email"]["marketing"]["suppression"]}
    assert seen == {x.id for x in suppressed}


def test_incremental_filters_return_exactly_the_changes_after_advance():
    world = World(seed=13, scale=200, start=START)
    with serve_world(world) as server:
        base = f"{server.base_url}/klaviyo/api"
        t0 = world.clock.now()
        changes = world.advance(6)
        t1 = world.clock.now()
        changed = changes["klaviyo"]
        assert changed["profiles"] and changed["events"] and changed["campaigns"]
        profiles, _ = walk(f"{base}/profiles/", {"filter": f"greater-than(updated,{z(t0)})", "sort": "updated",
                                                 "page[size]": 100})
        assert {p["id"] for p in profiles} == changed["profiles"] and len(profiles) == len(changed["profiles"])
        stamps = [p["attributes"]["updated"] for p in profiles]
        assert stamps == sorted(stamps)
        events, _ = walk(f"{base}/events/", {"filter": f"greater-than(datetime,{z(t0)})", "sort": "datetime"})
        assert {e["id"] for e in events} == changed["events"] and len(events) == len(changed["events"])
        window, _ = walk(f"{base}/events/", {
            "filter": f"greater-or-equal(datetime,{z(t0 + timedelta(seconds=1))}),"
                      f"less-than(datetime,{z(t1 + timedelta(seconds=1))})"})
        assert {e["id"] for e in window} == changed["events"]
        new_orders = {o.id for o in world.woocommerce.orders.values() if o.created > t0}
        assert new_orders and {int(e["attributes"]["event_properties"]["OrderId"]) for e in events
                               if "OrderId" in e["attributes"]["event_properties"]} == new_orders
        campaigns, _ = walk(f"{base}/campaigns/", {
            "filter": f"and(equals(messages.channel,'email'),greater-than(updated_at,{z(t0)}))"})
        assert {c["id"] for c in campaigns} == changed["campaigns"]
        sent = [c for c in campaigns if c["attributes"]["status"] == "Sent"]
        assert len(sent) == 1 and any("Campaign Name" in e["attributes"]["event_properties"] for e in events)


def test_wrong_credentials_and_missing_revision_are_refused(account):
    _, base = account
    r = requests.get(f"{base}/profiles/", headers={**HEADERS, "Authorization": "Klaviyo-API-Key pk_wrong"},
                     timeout=10)
    assert r.status_code == 401
    (err,) = r.json()["errors"]
    assert err["status"] == 401 and err["code"] == "authentication_failed"
    assert err["title"] == "Incorrect authentication credentials."
    r = requests.get(f"{base}/profiles/", headers={"revision": REVISION, "Authorization": f"Bearer {API_KEY}"},
                     timeout=10)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "not_authenticated"
    assert "Klaviyo-API-Key" in r.json()["errors"][0]["detail"]
    r = requests.get(f"{base}/profiles/", headers={"Authorization": f"Klaviyo-API-Key {API_KEY}"}, timeout=10)
    assert r.status_code == 400
    err = r.json()["errors"][0]
    assert err["code"] == "invalid" and "revision" in err["detail"]


def test_rate_limits_answer_429_with_retry_after_per_endpoint_tier():
    world = World(seed=11, scale=60, start=START)
    clock = {"now": 6_000_000.0}  # a minute boundary
    world.klaviyo.rate_limiter.clock = lambda: clock["now"]
    with serve_world(world, "klaviyo:rate_limit=on") as server:
        base = f"{server.base_url}/klaviyo/api"
        remaining = []
        for _ in range(10):  # metrics are tier M: 10/s burst, 150/min steady
            r = requests.get(f"{base}/metrics/", headers=HEADERS, timeout=10)
            assert r.status_code == 200 and r.headers["RateLimit-Limit"] == "150"
            remaining.append(int(r.headers["RateLimit-Remaining"]))
        assert remaining == list(range(149, 139, -1)) and r.headers["RateLimit-Reset"] == "60"
        r = requests.get(f"{base}/metrics/", headers=HEADERS, timeout=10)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1" and "RateLimit-Limit" not in r.headers
        (err,) = r.json()["errors"]
        assert err["code"] == "throttled" and err["detail"] == "Request was throttled. Expected available in 1 second."
        assert requests.get(f"{base}/profiles/", headers=HEADERS, timeout=10).status_code == 200  # own bucket
        for second in range(1, 15):  # 10 a second for 14 more seconds uses up the minute
            clock["now"] = 6_000_000.0 + second
            for _ in range(10):
                assert requests.get(f"{base}/metrics/", headers=HEADERS, timeout=10).status_code == 200
        clock["now"] = 6_000_000.0 + 15
        r = requests.get(f"{base}/metrics/", headers=HEADERS, timeout=10)
        assert r.status_code == 429 and r.headers["Retry-After"] == "45"
        clock["now"] = 6_000_000.0 + 60
        assert requests.get(f"{base}/metrics/", headers=HEADERS, timeout=10).status_code == 200
    quiet = World(seed=11, scale=60, start=START)
    quiet.klaviyo.rate_limiter.clock = lambda: 6_000_000.0
    with serve_world(quiet) as server:  # limits off: headers still sent, never a 429
        for _ in range(12):
            r = requests.get(f"{server.base_url}/klaviyo/api/metrics", headers=HEADERS, timeout=10)
            assert r.status_code == 200 and "RateLimit-Remaining" in r.headers


def test_same_seed_gives_byte_identical_responses():
    bodies = []
    for _ in range(2):
        world = World(seed=5, scale=120, start=START)
        world.advance(3)
        with serve_world(world) as server:
            base = f"{server.base_url}/klaviyo/api"
            out = []
            for path, params in (("profiles/", {"page[size]": 100, "additional-fields[profile]": "subscriptions"}),
                                 ("events/", {}), ("lists/", {}), ("metrics/", {}),
                                 ("campaigns/", {"filter": "equals(messages.channel,'email')"})):
                url = f"{base}/{path}"
                while url:  # every page, following links.next
                    r = requests.get(url, params=params, headers=HEADERS, timeout=10)
                    out.append(r.content.replace(server.base_url.encode(), b"BASE"))  # links carry the port
                    url, params = r.json()["links"]["next"], None
            bodies.append(b"".join(out))
    assert bodies[0] == bodies[1] and len(bodies[0]) > 50_000


def test_drift_and_bad_data_visibly_change_records():
    world = World(seed=11, scale=200, start=START)
    store = world.klaviyo

    def first(base, path, params=None):
        return requests.get(f"{base}/{path}", params=params, headers=HEADERS, timeout=10).json()["data"]

    with serve_world(world, "klaviyo:drift=new_field") as server:
        base = f"{server.base_url}/klaviyo/api"
        assert all("pronouns" in p["attributes"] for p in first(base, "profiles/"))
    with serve_world(world, "klaviyo:drift=type_change") as server:
        base = f"{server.base_url}/klaviyo/api"
        events = first(base, "events/")
        assert all(isinstance(e["attributes"]["timestamp"], str) for e in events)
        assert any(isinstance(e["attributes"]["event_properties"].get("$value"), str) for e in events)
    with serve_world(world, "klaviyo:drift=object_to_list") as server:
        base = f"{server.base_url}/klaviyo/api"
        assert all(isinstance(p["attributes"]["location"], list) for p in first(base, "profiles/"))
        assert all(isinstance(m["attributes"]["integration"], list) for m in first(base, "metrics/"))
    truth = store.bad_data_records()
    assert all(truth.values())
    with serve_world(world, "klaviyo:bad_data=on") as server:
        base = f"{server.base_url}/klaviyo/api"
        profiles, _ = walk(f"{base}/profiles/", {"page[size]": 100})
        assert {p["id"] for p in profiles if p["attributes"]["email"] is None} == truth["profiles_missing_email"]
        events, _ = walk(f"{base}/events/")
        placed = [e for e in events if "OrderId" in e["attributes"]["event_properties"]]
        negative = {e["id"] for e in placed
                    if any(i["Quantity"] < 0 for i in e["attributes"]["event_properties"]["Items"])}
        assert negative == truth["events_negative_quantity"]
        orders = world.woocommerce.orders
        off = {e["id"] for e in placed if f"{e['attributes']['event_properties']['$value']:.2f}"
               != f"{order_totals(orders[int(e['attributes']['event_properties']['OrderId'])])['total']:.2f}"}
        assert off == truth["events_value_mismatch"]
    with serve_world(world) as server:  # faults off again: clean records
        profiles, _ = walk(f"{server.base_url}/klaviyo/api/profiles/", {"page[size]": 100})
        assert all(p["attributes"]["email"] for p in profiles)
