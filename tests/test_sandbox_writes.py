"""Writes into the simulated vendor APIs over real HTTP: the world changes as each vendor's API says,
and the reads (and an inbound sync) see the change."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime

import pytest
import requests
from conftest import scalar, serve_world

from sandbox.delivery.store import API_TOKEN
from sandbox.finale.api import API_KEY as FINALE_KEY
from sandbox.finale.api import API_SECRET as FINALE_SECRET
from sandbox.klaviyo.api import API_KEY as KLAVIYO_KEY
from sandbox.persist import load_world, save_world
from sandbox.woocommerce.api import CONSUMER_KEY, CONSUMER_SECRET
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
WOO = (CONSUMER_KEY, CONSUMER_SECRET)
KLAVIYO = {"Authorization": f"Klaviyo-API-Key {KLAVIYO_KEY}", "revision": "2024-10-15"}


class Xero:
    """Refresh once, then send requests with the bearer token and the tenant, as Xero documents."""

    def __init__(self, settings: dict[str, str]):
        self.base = settings["SOURCES__XERO__BASE_URL"]
        r = requests.post(settings["SOURCES__XERO__TOKEN_URL"], timeout=10,
                          auth=(settings["SOURCES__XERO__CLIENT_ID"], settings["SOURCES__XERO__CLIENT_SECRET"]),
                          data={"grant_type": "refresh_token", "refresh_token": settings["SOURCES__XERO__REFRESH_TOKEN"]})
        assert r.status_code == 200, r.text
        self.headers = {"Authorization": f"Bearer {r.json()['access_token']}",
                        "Xero-Tenant-Id": settings["SOURCES__XERO__TENANT_ID"], "Accept": "application/json"}

    def send(self, method: str, path: str, body=None, key: str | None = None, since: datetime | None = None,
             params=None) -> requests.Response:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        if since is not None:
            headers["If-Modified-Since"] = format_datetime(since, usegmt=True)
        return requests.request(method, f"{self.base}/{path}", json=body, headers=headers, params=params, timeout=10)


def decimal_json(r: requests.Response) -> dict:
    return json.loads(r.text, parse_float=Decimal)


def net_ms(text: str) -> int:
    return int(text[6:].split("+")[0].split(")")[0])


@pytest.fixture(scope="module")
def sandbox():
    world = World(seed=23, scale=300, start=START)
    with serve_world(world) as server:
        yield world, server.settings()


def invoice_for(contact_id: str, reference: str, **extra) -> dict:
    return {"Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Reference": reference, "Date": "2026-10-30",
            "DueDate": "2026-11-13", "CurrencyCode": "AUD", "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
            "LineItems": [
                {"Description": "Pink Lady apples 1kg", "Quantity": 3, "UnitAmount": 4.20, "AccountCode": "200",
                 "TaxType": "OUTPUT"},
                {"Description": "Sourdough", "Quantity": 1, "UnitAmount": 7.95, "AccountCode": "200",
                 "TaxType": "EXEMPTOUTPUT"},
            ], **extra}


# -- Xero ----------------------------------------------------------------------------------------------
def test_a_created_xero_invoice_is_listed_since_its_creation_with_xeros_totals(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    contact = world.xero.contact_list[3]
    before = len(world.xero.invoices)
    r = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(world.xero.contact_id(contact), "W-9001")]})
    assert r.status_code == 200, r.text
    created = decimal_json(r)["Invoices"][0]
    # 3 x 4.20 = 12.60 + 10% GST 1.26; 7.95 GST-free: 20.55 + 1.26 = 21.81
    assert (created["SubTotal"], created["TotalTax"], created["Total"]) == (Decimal("20.55"), Decimal("1.26"),
                                                                            Decimal("21.81"))
    assert created["AmountDue"] == Decimal("21.81") and created["Status"] == "AUTHORISED"
    assert created["Contact"]["ContactID"] == world.xero.contact_id(contact)
    assert net_ms(created["UpdatedDateUTC"]) == int(world.clock.now().timestamp()) * 1000
    assert len(world.xero.invoices) == before + 1
    [stored] = world.xero.invoices_for_reference("W-9001")
    assert world.xero.invoice_id(stored) == created["InvoiceID"] and stored.manual.amounts["Total"] == Decimal("21.81")

    # the inbound source's query: If-Modified-Since (exclusive), ordered by UpdatedDateUTC
    since = world.clock.now() - timedelta(seconds=1)
    listed = decimal_json(xero.send("GET", "Invoices", since=since,
                                    params={"page": 1, "order": "UpdatedDateUTC ASC"}))["Invoices"]
    mine = [i for i in listed if i["InvoiceID"] == created["InvoiceID"]]
    assert len(mine) == 1 and mine[0]["Total"] == Decimal("21.81") and mine[0]["Reference"] == "W-9001"
    assert all(net_ms(i["UpdatedDateUTC"]) > since.timestamp() * 1000 for i in listed)
    assert [li["LineAmount"] for li in mine[0]["LineItems"]] == [Decimal("12.60"), Decimal("7.95")]
    single = decimal_json(xero.send("GET", f"Invoices/{created['InvoiceID']}"))["Invoices"][0]
    assert single["InvoiceNumber"] == created["InvoiceNumber"] and single["Total"] == Decimal("21.81")


def test_invoices_are_found_by_reference_with_a_where_filter(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    orders = sorted(world.woocommerce.orders)[:3]
    where = " OR ".join(f'Reference=="{oid}"' for oid in [*orders, 999999])
    r = xero.send("GET", "Invoices", params={"where": where})
    assert r.status_code == 200, r.text
    found = {(inv["Reference"], inv["InvoiceID"]) for inv in r.json()["Invoices"]}
    expected = {(str(oid), world.xero.invoice_id(inv)) for oid in orders
                for inv in world.xero.invoices_for_reference(str(oid))}
    assert found == expected and len(found) >= 2
    r = xero.send("GET", "Invoices", params={"where": 'Total>100'})
    assert r.status_code == 400 and "Reference==" in r.text


def test_inclusive_amounts_and_a_contact_named_for_the_first_time(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    contacts = len(world.xero.contact_list)
    body = {"Invoices": [{"Type": "ACCREC", "Contact": {"Name": "Flinders Pop-up Market"}, "Reference": "W-9002",
                          "Status": "DRAFT", "LineAmountTypes": "Inclusive",
                          "LineItems": [{"Description": "Veg box", "Quantity": 2, "UnitAmount": 38.50,
                                         "AccountCode": "200", "TaxType": "OUTPUT"}]}]}
    r = xero.send("POST", "Invoices", body)
    assert r.status_code == 200, r.text
    inv = decimal_json(r)["Invoices"][0]
    # 77.00 including GST: tax = 77 x 10/110 = 7.00
    assert (inv["Total"], inv["TotalTax"], inv["SubTotal"]) == (Decimal("77.00"), Decimal("7.00"), Decimal("70.00"))
    assert len(world.xero.contact_list) == contacts + 1
    assert world.xero.contact_id(world.xero.contact_named("flinders pop-up market")) == inv["Contact"]["ContactID"]


def test_the_same_idempotency_key_creates_one_invoice_and_a_changed_body_is_refused(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    cid = world.xero.contact_id(world.xero.contact_list[5])
    body = {"Invoices": [invoice_for(cid, "W-9003")]}
    first = xero.send("PUT", "Invoices", body, key="outbound-W-9003")
    again = xero.send("PUT", "Invoices", body, key="outbound-W-9003")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()  # the first answer again, InvoiceID and all
    assert len(world.xero.invoices_for_reference("W-9003")) == 1
    changed = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, "W-9003-B")]}, key="outbound-W-9003")
    assert changed.status_code == 400 and "Idempotency-Key" in changed.json()["Detail"]
    assert world.xero.invoices_for_reference("W-9003-B") == []
    assert xero.send("PUT", "Invoices", body, key="k" * 129).status_code == 400


def test_a_validation_error_is_400_with_its_messages_and_saves_nothing(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    before = len(world.xero.invoices)
    good = invoice_for(world.xero.contact_id(world.xero.contact_list[1]), "W-9004")
    bad = invoice_for("6f1c8c1e-0000-4000-8000-000000000000", "W-9005",
                      LineItems=[{"Description": "x", "Quantity": "two", "UnitAmount": 1, "AccountCode": "999"}])
    r = xero.send("PUT", "Invoices", {"Invoices": [good, bad]})
    assert r.status_code == 400
    body = r.json()
    assert (body["ErrorNumber"], body["Type"], body["Message"]) == (10, "ValidationException",
                                                                    "A validation exception occurred")
    assert body["Elements"][0]["ValidationErrors"] == []
    messages = [e["Message"] for e in body["Elements"][1]["ValidationErrors"]]
    assert messages == ["The contact with ContactID 6f1c8c1e-0000-4000-8000-000000000000 could not be found.",
                        "Quantity must be a number.", "Account code '999' is not a valid code for this document."]
    no_lines = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(good["Contact"]["ContactID"], "W-9006",
                                                                      LineItems=[])]})
    assert no_lines.status_code == 400
    assert no_lines.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "The document must have at least one line item."}]
    assert len(world.xero.invoices) == before  # all or nothing
    assert world.xero.invoices_for_reference("W-9004") == []


def test_void_and_delete_follow_xeros_status_rules(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    cid = world.xero.contact_id(world.xero.contact_list[7])
    authorised = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, "W-9007")]}).json()["Invoices"][0]
    draft = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, "W-9008", Status="DRAFT")]}).json()[
        "Invoices"][0]
    world.advance(1)  # the void happens later than the creation
    iid = authorised["InvoiceID"]
    r = xero.send("POST", f"Invoices/{iid}", {"Invoices": [{"InvoiceID": iid, "Status": "VOIDED"}]})
    assert r.status_code == 200, r.text
    voided = r.json()["Invoices"][0]
    assert voided["Status"] == "VOIDED" and voided["AmountDue"] == 0
    assert net_ms(voided["UpdatedDateUTC"]) == int(world.clock.now().timestamp()) * 1000
    assert [i.status for i in world.xero.invoices_for_reference("W-9007")] == ["VOIDED"]
    again = xero.send("POST", f"Invoices/{iid}", {"Invoices": [{"InvoiceID": iid, "Status": "AUTHORISED"}]})
    assert again.status_code == 400
    assert again.json()["Elements"][0]["ValidationErrors"][0]["Message"].startswith(
        "Invoice not of valid status for modification")
    wrong = xero.send("POST", "Invoices", {"Invoices": [{"InvoiceID": draft["InvoiceID"], "Status": "VOIDED"}]})
    assert wrong.status_code == 400  # a draft is deleted, not voided
    deleted = xero.send("POST", "Invoices", {"Invoices": [{"InvoiceID": draft["InvoiceID"], "Status": "DELETED"}]})
    assert deleted.status_code == 200 and deleted.json()["Invoices"][0]["Status"] == "DELETED"
    # a generated invoice that has been paid cannot be voided until its payment is removed
    paid = next(i for i in world.xero.invoices if i.status == "PAID")
    refused = xero.send("POST", f"Invoices/{world.xero.invoice_id(paid)}", {"Status": "VOIDED"})
    assert refused.status_code == 400 and paid.status == "PAID"


def test_contacts_are_created_once_per_name_and_credit_notes_against_them(sandbox):
    world, settings = sandbox
    xero = Xero(settings)
    r = xero.send("POST", "Contacts", {"Contacts": [{"Name": "Arthurs Seat Gondola Cafe",
                                                     "EmailAddress": "orders@gondola.example", "FirstName": "Ari",
                                                     "LastName": "Seat"}]})
    assert r.status_code == 200, r.text
    contact = r.json()["Contacts"][0]
    assert (contact["Name"], contact["EmailAddress"], contact["ContactStatus"]) == (
        "Arthurs Seat Gondola Cafe", "orders@gondola.example", "ACTIVE")
    twice = xero.send("PUT", "Contacts", {"Contacts": [{"Name": "ARTHURS SEAT GONDOLA CAFE"}]})
    assert twice.status_code == 400
    assert twice.json()["Elements"][0]["ValidationErrors"] == [{"Message": (
        "The contact name ARTHURS SEAT GONDOLA CAFE is already assigned to another contact. The contact name "
        "must be unique across all active contacts.")}]
    generated = world.xero.contact_list[0]
    taken = xero.send("PUT", "Contacts", {"Contacts": [{"Name": generated.name}]})
    assert taken.status_code == 400
    listed = xero.send("GET", "Contacts", since=world.clock.now() - timedelta(seconds=1), params={"page": 1})
    assert contact["ContactID"] in {c["ContactID"] for c in listed.json()["Contacts"]}

    note = {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact["ContactID"]}, "Reference": "W-9009",
            "Date": "2026-11-01", "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
            "LineItems": [{"Description": "Bruised stone fruit", "Quantity": 1, "UnitAmount": 12.00,
                           "AccountCode": "200", "TaxType": "OUTPUT"}]}
    r = xero.send("PUT", "CreditNotes", {"CreditNotes": [note]})
    assert r.status_code == 200, r.text
    cn = decimal_json(r)["CreditNotes"][0]
    assert (cn["Type"], cn["Total"], cn["RemainingCredit"], cn["Reference"]) == (
        "ACCRECCREDIT", Decimal("13.20"), Decimal("13.20"), "W-9009")
    [stored] = world.xero.credit_notes_for_reference("W-9009")
    assert world.xero.credit_note_id(stored) == cn["CreditNoteID"]
    listed = xero.send("GET", "CreditNotes", since=world.clock.now() - timedelta(seconds=1), params={"page": 1})
    assert cn["CreditNoteID"] in {c["CreditNoteID"] for c in listed.json()["CreditNotes"]}


def test_a_minute_rate_limit_429s_a_xero_write_with_retry_after_and_saves_nothing():
    world = World(seed=29, scale=120, start=START)
    with serve_world(world, faults="xero:rate_limit=minute") as server:
        xero = Xero(server.settings())
        cid = world.xero.contact_id(world.xero.contact_list[0])
        answers = [xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, f"W-RL-{n}")]}) for n in range(7)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]  # writes count against the 5 a minute
    limited = answers[5]
    assert limited.headers["X-Rate-Limit-Problem"] == "minute" and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert world.xero.invoices_for_reference("W-RL-5") == [] and len(world.xero.invoices_for_reference("W-RL-4")) == 1


# -- Klaviyo ---------------------------------------------------------------------------------------------
def test_profile_import_creates_then_updates_by_email(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__KLAVIYO__BASE_URL"]
    body = {"data": {"type": "profile", "attributes": {"email": "market.stall@example.com", "first_name": "Mara",
                                                      "last_name": "Stall", "phone_number": "+61400111222",
                                                      "properties": {"wholesale": True}}}}
    r = requests.post(f"{base}/profile-import/", json=body, headers=KLAVIYO, timeout=10)
    assert r.status_code == 201, r.text
    created = r.json()["data"]
    assert created["attributes"]["updated"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%S+00:00")
    world.advance(2)
    body["data"]["attributes"] = {"email": "Market.Stall@Example.com", "last_name": "Stallholder",
                                  "properties": {"stall": "Red Hill"}}
    r = requests.post(f"{base}/profile-import", json=body, headers=KLAVIYO, timeout=10)
    assert r.status_code == 200, r.text
    updated = r.json()["data"]
    assert updated["id"] == created["id"]
    assert (updated["attributes"]["last_name"], updated["attributes"]["first_name"]) == ("Stallholder", "Mara")
    assert updated["attributes"]["properties"] == {"wholesale": True, "stall": "Red Hill"}
    assert updated["attributes"]["updated"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%S+00:00")
    # the inbound sync's filter finds it
    since = (world.clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = requests.get(f"{base}/profiles/", headers=KLAVIYO, timeout=10,
                          params={"filter": f"greater-than(updated,{since})", "page[size]": 100}).json()["data"]
    assert created["id"] in {p["id"] for p in listed}
    bad = requests.post(f"{base}/profile-import/", headers=KLAVIYO, timeout=10,
                        json={"data": {"type": "profile", "attributes": {"email": "not-an-email"}}})
    assert bad.status_code == 400
    error = bad.json()["errors"][0]
    assert (error["status"], error["code"], error["title"], error["source"]) == (
        400, "invalid", "Invalid input.", {"pointer": "/data/attributes/email"})


def test_an_event_with_the_same_unique_id_is_stored_once(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__KLAVIYO__BASE_URL"]
    event = {"data": {"type": "event", "attributes": {
        "properties": {"OrderId": "W-9010", "Items": ["Kale"]}, "time": "2026-11-01T07:30:00Z", "value": 42.5,
        "unique_id": "W-9010",
        "metric": {"data": {"type": "metric", "attributes": {"name": "Delivered Order"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "first.time@example.com"}}}}}}
    metrics, events = len(world.klaviyo.metrics), world.klaviyo.event_count
    for _ in range(2):
        r = requests.post(f"{base}/events/", json=event, headers=KLAVIYO, timeout=10)
        assert r.status_code == 202 and r.content == b""
    [stored] = world.klaviyo.events_with_unique_id("W-9010")
    assert (stored["metric"], stored["profile_email"], stored["value"]) == ("Delivered Order",
                                                                            "first.time@example.com", 42.5)
    assert world.klaviyo.event_count == events + 1 and len(world.klaviyo.metrics) == metrics + 1
    assert world.klaviyo.profile_by_email("FIRST.TIME@example.com") is not None  # the profile was made too
    # a Placed Order the WooCommerce integration already sent is not stored again
    oid, idx = next(iter(world.klaviyo.placed_order_events.items()))
    email = world.klaviyo.profile_list[world.klaviyo._ev_profile[idx]].email
    event["data"]["attributes"].update(unique_id=str(oid), metric={"data": {"type": "metric", "attributes": {
        "name": "Placed Order"}}}, profile={"data": {"type": "profile", "attributes": {"email": email}}})
    assert requests.post(f"{base}/events", json=event, headers=KLAVIYO, timeout=10).status_code == 202
    assert world.klaviyo.event_count == events + 1
    # the events listing shows the new one with what it was sent with
    listed = requests.get(f"{base}/events/", headers=KLAVIYO, timeout=10, params={
        "filter": "greater-or-equal(datetime,2026-11-01T07:30:00Z),less-than(datetime,2026-11-01T07:30:01Z)"})
    props = [e["attributes"]["event_properties"] for e in listed.json()["data"]
             if e["id"] == stored["id"]]
    assert props == [{"OrderId": "W-9010", "Items": ["Kale"], "$value": 42.5, "$event_id": "W-9010"}]
    missing = requests.post(f"{base}/events/", headers=KLAVIYO, timeout=10, json={"data": {"type": "event",
                            "attributes": {"properties": {}, "profile": event["data"]["attributes"]["profile"]}}})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["source"] == {"pointer": "/data/attributes/metric/data/attributes/name"}


# -- WooCommerce -----------------------------------------------------------------------------------------
def test_a_woocommerce_status_change_moves_date_modified_and_is_synced_by_modified_after(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__WOOCOMMERCE__BASE_URL"]
    world.advance(1)
    order = next(o for o in world.woocommerce.orders.values() if o.status == "processing" and not o.trashed)
    now_gmt = world.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    r = requests.put(f"{base}/orders/{order.id}", json={"status": "completed"}, auth=WOO, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["date_modified_gmt"], body["date_completed_gmt"]) == ("completed", now_gmt, now_gmt)
    assert world.woocommerce.orders[order.id].status == "completed"
    since = (world.clock.now() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    page = requests.get(f"{base}/orders", auth=WOO, timeout=10, params={
        "modified_after": since, "dates_are_gmt": "true", "orderby": "modified", "order": "asc", "per_page": 100})
    assert page.status_code == 200 and [o["id"] for o in page.json()] == [order.id]

    bad = requests.put(f"{base}/orders/{order.id}", json={"status": "shipped"}, auth=WOO, timeout=10)
    assert bad.status_code == 400
    assert (bad.json()["code"], bad.json()["message"]) == ("rest_invalid_param", "Invalid parameter(s): status")
    assert "status" in bad.json()["data"]["params"]
    missing = requests.put(f"{base}/orders/1", json={"status": "completed"}, auth=WOO, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    assert requests.put(f"{base}/orders/{order.id}", json={"status": "completed"}, timeout=10).status_code == 401

    note = requests.post(f"{base}/orders/{order.id}/notes", auth=WOO, timeout=10,
                         json={"note": "Delivered: left at the front door", "customer_note": False})
    assert note.status_code == 201
    assert (note.json()["note"], note.json()["customer_note"]) == ("Delivered: left at the front door", False)
    assert [n["note"] for n in world.woocommerce.order_notes(order.id)] == ["Delivered: left at the front door"]
    listed = requests.get(f"{base}/orders/{order.id}/notes", auth=WOO, timeout=10).json()
    assert [n["id"] for n in listed] == [note.json()["id"]]
    # the bookkeeping integration reacts on the next advance, as to the shop's own changes
    invoice = world.xero.invoice_for_order(order.id)
    world.advance(1)
    assert invoice is None or invoice.status in ("PAID", "VOIDED", "DELETED")


def test_stock_updates_single_and_batch(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__WOOCOMMERCE__BASE_URL"]
    first, second = list(world.woocommerce.products)[:2]
    r = requests.put(f"{base}/products/{first}", json={"manage_stock": True, "stock_quantity": 17}, auth=WOO,
                     timeout=10)
    assert r.status_code == 200 and r.json()["stock_quantity"] == 17 and r.json()["stock_status"] == "instock"
    batch = {"update": [{"id": first, "stock_quantity": 0}, {"id": second, "stock_quantity": 250},
                        {"id": 999_999, "stock_quantity": 3}, {"id": second, "stock_quantity": "lots"}]}
    r = requests.post(f"{base}/products/batch", json=batch, auth=WOO, timeout=10)
    assert r.status_code == 200, r.text
    results = r.json()["update"]
    assert [(p["id"], p.get("stock_quantity")) for p in results[:2]] == [(first, 0), (second, 250)]
    assert results[0]["stock_status"] == "outofstock"
    assert results[2] == {"id": 999_999, "error": {"code": "woocommerce_rest_product_invalid_id",
                                                   "message": "Invalid ID.", "data": {"status": 404}}}
    assert results[3]["error"]["code"] == "rest_invalid_param"
    assert (world.woocommerce.products[first].stock, world.woocommerce.products[second].stock) == (0, 250)
    got = requests.get(f"{base}/products/{second}", auth=WOO, timeout=10).json()
    assert got["stock_quantity"] == 250 and got["date_modified_gmt"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    too_many = {"update": [{"id": first, "stock_quantity": n} for n in range(101)]}
    r = requests.post(f"{base}/products/batch", json=too_many, auth=WOO, timeout=10)
    assert r.status_code == 413 and world.woocommerce.products[first].stock == 0


def test_a_host_rate_limit_429s_a_woocommerce_write_with_retry_after():
    world = World(seed=31, scale=80, start=START)
    with serve_world(world, faults="woocommerce:rate_limit=on") as server:
        base = server.settings()["SOURCES__WOOCOMMERCE__BASE_URL"]
        pid = next(iter(world.woocommerce.products))
        answers = [requests.put(f"{base}/products/{pid}", json={"stock_quantity": n}, auth=WOO, timeout=10)
                   for n in (5, 6, 7, 8)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["Retry-After"] == "1" and world.woocommerce.products[pid].stock == 7


# -- Finale -------------------------------------------------------------------------------------------
def test_finale_creates_a_sales_order_and_answers_refusals_with_200_and_an_error_body(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__FINALE__BASE_URL"]
    auth = (FINALE_KEY, FINALE_SECRET)
    sku, other = sorted(world.finale.products)[:2]
    order = {"orderId": "WEB-9011", "orderTypeId": "SALES_ORDER", "statusId": "ORDER_CREATED",
             "orderDate": "2026-11-01T06:00:00", "orderItemList": [{"productId": sku, "quantity": 2, "unitPrice": 4.5},
                                                                   {"productId": other, "quantity": 1.5}],
             "orderRoleList": [{"roleTypeId": "CUSTOMER", "partyId": "200100"}]}
    r = requests.post(f"{base}/order", json=order, auth=auth, timeout=10)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert (saved["orderId"], saved["orderUrl"], saved["statusId"]) == (
        "WEB-9011", "/redhillfresh/api/order/WEB-9011", "ORDER_CREATED")
    assert [(i["productId"], i["quantity"], i["unitPrice"]) for i in saved["orderItemList"]] == [
        (sku, 2, 4.5), (other, 1.5, float(world.finale.products[other].price))]
    assert saved["lastUpdatedDate"] == world.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    stored = world.finale.sales_order("WEB-9011")
    assert stored.type_id == "SALES_ORDER" and stored.party_id == "200100"

    again = requests.post(f"{base}/order", json=order, auth=auth, timeout=10)
    assert again.status_code == 200
    assert again.json() == {"errorCode": "DUPLICATE_ORDER_ID",
                            "errorMessage": "An order with orderId WEB-9011 already exists.", "orderId": "WEB-9011"}
    unknown = requests.post(f"{base}/order", auth=auth, timeout=10,
                            json={**order, "orderId": "WEB-9012", "orderItemList": [{"productId": "NOPE", "quantity": 1}]})
    assert unknown.status_code == 200 and unknown.json()["errorCode"] == "UNKNOWN_PRODUCT"
    assert "orderUrl" not in unknown.json() and world.finale.sales_order("WEB-9012") is None
    # the inbound sync's window on lastUpdatedDate finds it
    window = base64.b64encode(json.dumps({"lastUpdatedDate": [
        (world.clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"), None]}).encode()).decode()
    listed = requests.get(f"{base}/order", params={"filter": window}, auth=auth, timeout=10).json()
    assert "WEB-9011" in listed["orderId"]
    assert [o.id for o in world.finale.orders_created_through_api()] == ["WEB-9011"]


# -- the courier app ------------------------------------------------------------------------------------
def test_the_delivery_feed_returns_deliveries_changed_after_updated_after(sandbox):
    world, settings = sandbox
    base = settings["SOURCES__DELIVERY__BASE_URL"]
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert settings["SOURCES__DELIVERY__API_TOKEN"] == API_TOKEN
    assert requests.get(f"{base}/deliveries", timeout=10).status_code == 401
    every = requests.get(f"{base}/deliveries", headers=auth, timeout=10).json()["deliveries"]
    assert every and {d["status"] for d in every} <= {"in_transit", "delivered", "failed"}
    for d in every:  # what the feed says is the world's truth
        truth = world.delivery.delivery_for(int(d["order_number"]))
        assert (d["status"], d["tracking_number"], d["carrier"]) == (truth.status, truth.tracking_number,
                                                                     truth.carrier)
        assert world.woocommerce.orders[int(d["order_number"])].status in ("processing", "completed")
    in_transit = {d["order_number"] for d in every if d["status"] == "in_transit"}
    cut = world.clock.now()
    world.advance(30)  # the couriers get on with it
    later = requests.get(f"{base}/deliveries", headers=auth, timeout=10,
                         params={"updated_after": cut.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()["deliveries"]
    assert later and all(d["updated_at"] > cut.strftime("%Y-%m-%dT%H:%M:%SZ") for d in later)
    assert [d["updated_at"] for d in later] == sorted(d["updated_at"] for d in later)
    moved = {d["order_number"]: d["status"] for d in later if d["order_number"] in in_transit}
    assert moved and set(moved.values()) <= {"delivered", "failed"}
    bad = requests.get(f"{base}/deliveries", headers=auth, params={"updated_after": "yesterday"}, timeout=10)
    assert bad.status_code == 400


# -- persistence ------------------------------------------------------------------------------------------
def test_created_records_survive_save_and_load(tmp_path):
    world = World(seed=37, scale=120, start=START)
    with serve_world(world) as server:
        settings = server.settings()
        xero = Xero(settings)
        cid = world.xero.contact_id(world.xero.contact_list[0])
        invoice = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, "W-9013")]}, key="persist-1").json()
        world.advance(2)
        order = next(o for o in world.woocommerce.orders.values() if o.status == "processing" and not o.trashed)
        assert requests.put(f"{settings['SOURCES__WOOCOMMERCE__BASE_URL']}/orders/{order.id}",
                            json={"status": "completed"}, auth=WOO, timeout=10).status_code == 200
        event = {"data": {"type": "event", "attributes": {
            "properties": {}, "unique_id": "persist-event",
            "metric": {"data": {"type": "metric", "attributes": {"name": "Delivered Order"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "keep.me@example.com"}}}}}}
        assert requests.post(f"{settings['SOURCES__KLAVIYO__BASE_URL']}/events/", json=event, headers=KLAVIYO,
                             timeout=10).status_code == 202
        sku = sorted(world.finale.products)[0]
        assert requests.post(f"{settings['SOURCES__FINALE__BASE_URL']}/order", auth=(FINALE_KEY, FINALE_SECRET),
                             timeout=10, json={"orderId": "WEB-P1", "orderTypeId": "SALES_ORDER",
                                               "orderItemList": [{"productId": sku, "quantity": 1}]}).json()["orderId"]
    world.advance(3)
    state = tmp_path / "world.json"
    save_world(world, state)
    again, fresh = load_world(state, seed=37, scale=120)
    assert not fresh and again.clock.now() == world.clock.now()
    [inv] = again.xero.invoices_for_reference("W-9013")
    assert again.xero.invoice_id(inv) == invoice["Invoices"][0]["InvoiceID"] and inv.manual.amounts["Total"] == \
        Decimal("21.81")
    assert again.xero.idempotency["persist-1"][0] == world.xero.idempotency["persist-1"][0]
    assert again.woocommerce.orders[order.id].status == "completed"
    assert [e["id"] for e in again.klaviyo.events_with_unique_id("persist-event")] == [
        e["id"] for e in world.klaviyo.events_with_unique_id("persist-event")]
    assert again.finale.sales_order("WEB-P1") is not None
    # the rest of the world is the same world
    assert again.web_order_totals() == world.web_order_totals()
    assert [again.xero.invoice_id(i) for i in again.xero.invoices] == [world.xero.invoice_id(i)
                                                                         for i in world.xero.invoices]


# -- an inbound sync sees the change ---------------------------------------------------------------------
def test_the_xero_source_loads_an_invoice_created_through_the_api(database, monkeypatch):
    from ingest.sync import sync_source

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "writes_")
    world = World(seed=41, scale=120, start=START)
    with serve_world(world) as server:
        first = sync_source("xero", full_refresh=True, db=database)
        assert first.status == "success", first.message
        world.advance(1)
        xero = Xero(server.settings())
        cid = world.xero.contact_id(world.xero.contact_list[2])
        created = xero.send("PUT", "Invoices", {"Invoices": [invoice_for(cid, "W-9014")]}).json()["Invoices"][0]
        second = sync_source("xero", db=database)
    assert second.status == "success", second.message
    total = scalar(database, "select total from writes_raw_xero.invoices where invoice_id = %s", created["InvoiceID"])
    assert total == Decimal("21.81")
    assert scalar(database, "select reference from writes_raw_xero.invoices where invoice_id = %s",
                  created["InvoiceID"]) == "W-9014"


def test_writes_reach_the_webhook_listeners_like_the_worlds_own_changes(sandbox):
    world, settings = sandbox
    seen: list[dict] = []
    world.listeners.append(seen.append)
    try:
        order = next(o for o in world.woocommerce.orders.values() if o.status == "on-hold" and not o.trashed)
        base = settings["SOURCES__WOOCOMMERCE__BASE_URL"]
        assert requests.put(f"{base}/orders/{order.id}", json={"status": "processing"}, auth=WOO,
                            timeout=10).status_code == 200
        assert requests.put(f"{base}/orders/{order.id}", json={"status": "processing"}, auth=WOO,
                            timeout=10).status_code == 200  # nothing changed: no webhook
        xero = Xero(settings)
        r = xero.send("POST", "Contacts", {"Contacts": [{"Name": "Webhook Test Grocer"}]})
        assert r.status_code == 200
    finally:
        world.listeners.remove(seen.append)
    assert seen == [{"woocommerce": {"orders": {order.id}}},
                    {"xero": {"contacts": {r.json()["Contacts"][0]["ContactID"]}}}]
