"""The receiver: signed deliveries are committed before the 2xx, recorded once; forged, unsigned,
stale and malformed ones are refused and stored nowhere."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from conftest import scalar
from starlette.testclient import TestClient

from sandbox.webhooks import klaviyo_headers, lightspeed_headers, woocommerce_headers, xero_headers
from webhooks.receiver import build_app
from webhooks.store import ensure_tables

SECRETS = {"woocommerce": "wc-secret-5f1e", "xero": "xero-key-77ab", "lightspeed": "ls-client-secret-91",
           "klaviyo": "klaviyo-secret-0123456789"}


@pytest.fixture
def client(database, monkeypatch):
    for source, secret in SECRETS.items():
        monkeypatch.setenv(f"WEBHOOKS__{source.upper()}__SECRET", secret)
    ensure_tables(database)
    with database.cursor() as cur:
        cur.execute("truncate ops.dead_letter, ops.webhook_events")
    with TestClient(build_app(database)) as test_client:
        yield test_client


def stored(database) -> int:
    return scalar(database, "select count(*) from ops.webhook_events") + scalar(
        database, "select count(*) from ops.dead_letter")


def order(oid: int, modified: str = "2026-11-02T10:00:00") -> bytes:
    return json.dumps({"id": oid, "status": "processing", "date_modified_gmt": modified}).encode()


def test_a_signed_woocommerce_delivery_is_stored_once_and_duplicates_are_counted(client, database):
    body = order(101)
    headers = {**woocommerce_headers(SECRETS["woocommerce"], body, "order", "updated", "d-1"),
               "authorization": "Bearer not-to-be-kept"}
    first = client.post("/webhooks/woocommerce", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["duplicate"] is False
    again = client.post("/webhooks/woocommerce", content=body, headers=headers)
    assert again.json() == {"event_id": first.json()["event_id"], "duplicate": True}
    with database.cursor() as cur:
        cur.execute("select topic, resources, body, headers, deliveries, status from ops.webhook_events")
        rows = cur.fetchall()
    assert len(rows) == 1
    topic, resources, raw, kept, deliveries, status = rows[0]
    assert (topic, resources, bytes(raw), deliveries, status) == ("order.updated", ["order"], body, 2, "pending")
    assert kept["x-wc-webhook-delivery-id"] == "d-1" and "authorization" not in kept
    # without a delivery id, the same resource, modified time and body are the same delivery
    for _ in range(2):
        headers = woocommerce_headers(SECRETS["woocommerce"], order(102), "order", "updated", None)
        assert client.post("/webhooks/woocommerce", content=order(102), headers=headers).status_code == 200
    newer = order(102, "2026-11-02T11:00:00")
    headers = woocommerce_headers(SECRETS["woocommerce"], newer, "order", "updated", None)
    assert client.post("/webhooks/woocommerce", content=newer, headers=headers).status_code == 200
    assert scalar(database, "select count(*) from ops.webhook_events") == 3


def test_forged_unsigned_and_malformed_woocommerce_deliveries_are_refused_and_stored_nowhere(client, database):
    body = order(7)
    forged = woocommerce_headers("not-the-secret", body, "order", "updated", "x-1")
    assert client.post("/webhooks/woocommerce", content=body, headers=forged).status_code == 401
    unsigned = {k: v for k, v in forged.items() if k != "x-wc-webhook-signature"}
    assert client.post("/webhooks/woocommerce", content=body, headers=unsigned).status_code == 401
    tampered = woocommerce_headers(SECRETS["woocommerce"], body, "order", "updated", "x-2")
    assert client.post("/webhooks/woocommerce", content=order(8), headers=tampered).status_code == 401
    garbage = b"{not json"
    signed_garbage = woocommerce_headers(SECRETS["woocommerce"], garbage, "order", "updated", "x-3")
    refused = client.post("/webhooks/woocommerce", content=garbage, headers=signed_garbage)
    assert refused.status_code == 400 and "not JSON" in refused.json()["error"]
    # the unsigned ping sent when the webhook is created is answered, and not stored either
    ping = client.post("/webhooks/woocommerce", content=b"webhook_id=12",
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert ping.status_code == 200
    assert stored(database) == 0


def test_xero_intent_to_receive_and_events(client, database):
    itr = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ABC"}).encode()
    ok = client.post("/webhooks/xero", content=itr, headers=xero_headers(SECRETS["xero"], itr))
    assert (ok.status_code, ok.content) == (200, b"")
    bad = client.post("/webhooks/xero", content=itr, headers=xero_headers("wrong-key", itr))
    assert (bad.status_code, bad.content) == (401, b"")
    assert stored(database) == 0
    events = json.dumps({"events": [
        {"resourceId": "inv-1", "eventCategory": "INVOICE", "eventType": "UPDATE", "eventDateUtc": "2026-11-02T10:00:00"},
        {"resourceId": "c-9", "eventCategory": "CONTACT", "eventType": "CREATE", "eventDateUtc": "2026-11-02T10:00:01"},
    ], "firstEventSequence": 1, "lastEventSequence": 2, "entropy": "DEF"}).encode()
    accepted = client.post("/webhooks/xero", content=events, headers=xero_headers(SECRETS["xero"], events))
    assert (accepted.status_code, accepted.content) == (200, b"")
    malformed = json.dumps({"events": [{"resourceId": "x"}]}).encode()
    assert client.post("/webhooks/xero", content=malformed,
                       headers=xero_headers(SECRETS["xero"], malformed)).status_code == 400
    with database.cursor() as cur:
        cur.execute("select topic, resources from ops.webhook_events")
        assert cur.fetchall() == [("contact.CREATE+invoice.UPDATE", ["CONTACT", "INVOICE"])]


def test_lightspeed_signature_header_or_secret_token_in_the_url(client, database):
    body = urlencode({"payload": json.dumps({"id": "sale-1", "version": 42}), "type": "sale.update",
                      "domain_prefix": "shop"}).encode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert client.post("/webhooks/lightspeed", content=body,
                       headers=lightspeed_headers(SECRETS["lightspeed"], body)).status_code == 200
    other = body.replace(b"42", b"43")
    token = SECRETS["lightspeed"]
    assert client.post(f"/webhooks/lightspeed?token={token}", content=other, headers=form).status_code == 200
    assert client.post("/webhooks/lightspeed?token=guess", content=other, headers=form).status_code == 401
    assert client.post("/webhooks/lightspeed", content=other, headers=form).status_code == 401
    assert client.post("/webhooks/lightspeed", content=other,
                       headers=lightspeed_headers("wrong", other)).status_code == 401
    broken = urlencode({"payload": "{oops", "type": "sale.update"}).encode()
    assert client.post("/webhooks/lightspeed", content=broken,
                       headers=lightspeed_headers(SECRETS["lightspeed"], broken)).status_code == 400
    with database.cursor() as cur:
        cur.execute("select topic, resources, headers::text, body from ops.webhook_events order by event_id")
        rows = cur.fetchall()
    assert [(t, r) for t, r, _, _ in rows] == [("sale.update", ["sale"])] * 2
    assert all(token not in h and token.encode() not in bytes(b) for _, _, h, b in rows)  # the URL token is kept nowhere


def klaviyo_body(webhook_id: str = "wh-1", external_id: str = "ev-1") -> bytes:
    return json.dumps({"data": [{"topic": "event:klaviyo.placed_order", "external_id": external_id,
                                 "payload": {"id": external_id}}],
                       "meta": {"klaviyo_account_id": "A1", "klaviyo_webhook_id": webhook_id,
                                "timestamp": "2026-11-02T10:00:00+00:00"}}).encode()


def test_klaviyo_signature_with_its_timestamp_and_stale_replays_refused(client, database):
    now = datetime.now(timezone.utc)
    body = klaviyo_body()
    fresh = klaviyo_headers(SECRETS["klaviyo"], body, now.isoformat(), "wh-1")
    assert client.post("/webhooks/klaviyo", content=body, headers=fresh).status_code == 200
    stale_stamp = (now - timedelta(minutes=10)).isoformat()
    stale = klaviyo_headers(SECRETS["klaviyo"], klaviyo_body(external_id="ev-2"), stale_stamp, "wh-1")
    refused = client.post("/webhooks/klaviyo", content=klaviyo_body(external_id="ev-2"), headers=stale)
    assert refused.status_code == 401 and "window" in refused.json()["error"]
    unix = klaviyo_headers(SECRETS["klaviyo"], klaviyo_body(external_id="ev-3"), str(int(time.time())), "wh-1")
    assert client.post("/webhooks/klaviyo", content=klaviyo_body(external_id="ev-3"), headers=unix).status_code == 200
    mismatch = klaviyo_headers(SECRETS["klaviyo"], body, now.isoformat(), "wh-other")
    assert client.post("/webhooks/klaviyo", content=body, headers=mismatch).status_code == 401
    forged = klaviyo_headers("nope", body, now.isoformat(), "wh-1")
    assert client.post("/webhooks/klaviyo", content=body, headers=forged).status_code == 401
    # a timestamp is part of the signature: moving it to look fresh breaks the signature
    moved = {**stale, "klaviyo-timestamp": now.isoformat()}
    assert client.post("/webhooks/klaviyo", content=klaviyo_body(external_id="ev-2"), headers=moved).status_code == 401
    assert scalar(database, "select count(*) from ops.webhook_events") == 2


def test_unknown_sources_missing_secrets_and_oversized_bodies(client, database, monkeypatch):
    assert client.post("/webhooks/finale", content=b"{}").status_code == 404
    huge = b"x" * (5 * 1024 * 1024 + 1)
    assert client.post("/webhooks/woocommerce", content=huge,
                       headers=woocommerce_headers(SECRETS["woocommerce"], huge, "order", "updated", "big")
                       ).status_code == 413
    monkeypatch.delenv("WEBHOOKS__XERO__SECRET")
    monkeypatch.setenv("WEBHOOKS__XERO__SECRET", "")
    assert client.post("/webhooks/xero", content=b"{}", headers=xero_headers("", b"{}")).status_code == 503
    assert stored(database) == 0
