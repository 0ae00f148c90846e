"""The sandbox's outgoing webhooks: every change the world makes, delivered as each vendor does.

Attach a `WebhookSender` to a world and each `world.advance(...)` is followed by signed POSTs to
`<base_url>/<source>` (e.g. `http://127.0.0.1:8765/webhooks`): WooCommerce one delivery per
changed record (the record as JSON, `X-WC-Webhook-Signature` = base64 HMAC-SHA256 of the body,
topic, resource and a delivery id); Xero one batch of `events` carrying ids only
(`x-xero-signature`); Lightspeed a form field `payload` per record (`X-Signature` hex HMAC, as
for an OAuth app); Klaviyo one batch of `data` (`Klaviyo-Signature` = hex HMAC of the body
followed by `Klaviyo-Timestamp`). Finale sends no webhooks. Deliveries go out from a background
thread, at least once: a failure or a non-2xx answer is retried with backoff, like the vendors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlencode

import httpx

from sandbox.woocommerce.render import render_customer, render_order, render_product

log = logging.getLogger(__name__)
SENDS = ("woocommerce", "xero", "lightspeed", "klaviyo")
_XERO_CATEGORIES = {"invoices": "INVOICE", "contacts": "CONTACT", "credit_notes": "CREDITNOTE"}
_LIGHTSPEED_TYPES = {"sales": "sale", "customers": "customer", "products": "product", "inventory": "inventory"}


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


# -- each vendor's signed headers (also what the tests sign with) -------------------------------------
def woocommerce_headers(secret: str, body: bytes, resource: str, event: str, delivery_id: str | None) -> dict:
    headers = {"content-type": "application/json", "x-wc-webhook-source": "https://sandbox.local/",
               "x-wc-webhook-topic": f"{resource}.{event}", "x-wc-webhook-resource": resource,
               "x-wc-webhook-event": event, "x-wc-webhook-id": "1",
               "x-wc-webhook-signature": base64.b64encode(_mac(secret, body)).decode()}
    if delivery_id is not None:
        headers["x-wc-webhook-delivery-id"] = delivery_id
    return headers


def xero_headers(secret: str, body: bytes) -> dict:
    return {"content-type": "application/json", "x-xero-signature": base64.b64encode(_mac(secret, body)).decode()}


def lightspeed_headers(secret: str, body: bytes) -> dict:
    return {"content-type": "application/x-www-form-urlencoded",
            "x-signature": f"signature={_mac(secret, body).hex()}, algorithm=HMAC-SHA256"}


def klaviyo_headers(secret: str, body: bytes, stamp: str, webhook_id: str = "sandbox-webhook") -> dict:
    return {"content-type": "application/json", "klaviyo-webhook-id": webhook_id, "klaviyo-timestamp": stamp,
            "klaviyo-signature": _mac(secret, body + stamp.encode()).hex()}


class WebhookSender:
    def __init__(self, world, base_url: str, secrets: dict[str, str], *, retries: int = 5, backoff: float = 0.2):
        self.world = world
        self.base_url = base_url.rstrip("/")
        self.secrets = {k: v for k, v in secrets.items() if k in SENDS and v}
        self.retries, self.backoff = retries, backoff
        self.sent = 0
        self.failed = 0
        # numeric like the vendors' delivery ids, and never reused by a later sender (a restarted
        # sandbox counting from 1 again would look like resends and be recorded as duplicates)
        self._ids = itertools.count(time.time_ns() // 1_000_000)
        self._queue: queue.Queue = queue.Queue()
        self._client = httpx.Client(timeout=10)
        self._thread = threading.Thread(target=self._work, name="sandbox-webhooks", daemon=True)

    def attach(self) -> WebhookSender:
        self.world.listeners.append(self.on_advance)
        self._thread.start()
        return self

    def close(self) -> None:
        if self.on_advance in self.world.listeners:
            self.world.listeners.remove(self.on_advance)
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._client.close()

    def drain(self, timeout: float = 30) -> None:
        """Wait until every delivery queued so far has been answered (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._queue.unfinished_tasks} webhook deliveries still pending")
            time.sleep(0.02)

    def on_advance(self, changes: dict[str, dict[str, set]]) -> None:
        for source in self.secrets:
            for path, body, headers in getattr(self, f"_{source}")(changes.get(source, {})):
                self._queue.put((f"{self.base_url}/{source}{path}", body, headers))

    # -- one builder per vendor: (path and query, body, headers) ------------------------------------
    def _woocommerce(self, changed) -> list[tuple[str, bytes, dict]]:
        store = self.world.woocommerce
        products = {p.id: p for p in store._product_list}
        out = []
        records = [("order", oid, lambda oid: render_order(store.orders[oid])) for oid in sorted(changed.get("orders", ()))]
        records += [("customer", cid, lambda cid: render_customer(store.customers[cid], False))
                    for cid in sorted(changed.get("customers", ()))]
        records += [("product", pid, lambda pid: render_product(products[pid])) for pid in sorted(changed.get("products", ()))]
        for resource, rid, render in records:
            out.append(self._woo(resource, "updated", json.dumps(render(rid), default=str).encode()))
        for oid in sorted(changed.get("orders_deleted", ())):
            out.append(self._woo("order", "deleted", json.dumps({"id": oid}).encode()))
        return out

    def _woo(self, resource: str, event: str, body: bytes) -> tuple[str, bytes, dict]:
        return "", body, woocommerce_headers(self.secrets["woocommerce"], body, resource, event, str(next(self._ids)))

    def _xero(self, changed) -> list[tuple[str, bytes, dict]]:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        tenant = self.world.xero.tenant_id
        events = [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/{kind}/{rid}", "resourceId": str(rid),
                   "eventDateUtc": now, "eventType": "UPDATE", "eventCategory": category,
                   "tenantId": tenant, "tenantType": "ORGANISATION"}
                  for kind, category in _XERO_CATEGORIES.items() for rid in sorted(changed.get(kind, ()), key=str)]
        out = []
        for chunk in range(0, len(events), 100):
            seq = next(self._ids)
            body = json.dumps({"events": events[chunk:chunk + 100], "firstEventSequence": seq,
                               "lastEventSequence": seq, "entropy": uuid.uuid4().hex.upper()}).encode()
            out.append(("", body, xero_headers(self.secrets["xero"], body)))
        return out

    def _lightspeed(self, changed) -> list[tuple[str, bytes, dict]]:
        out = []
        version = len(self.world.advanced_hours)
        for key, ids in sorted(changed.items()):
            kind = _LIGHTSPEED_TYPES.get(key.removesuffix("_deleted"))
            if kind is None:
                continue
            for rid in sorted(ids, key=str):
                body = urlencode({"payload": json.dumps({"id": str(rid), "version": version}),
                                  "type": f"{kind}.{'delete' if key.endswith('_deleted') else 'update'}",
                                  "domain_prefix": "sandbox", "environment": "prod"}).encode()
                out.append(("", body, lightspeed_headers(self.secrets["lightspeed"], body)))
        return out

    def _klaviyo(self, changed) -> list[tuple[str, bytes, dict]]:
        items = [{"topic": "event:klaviyo.placed_order", "external_id": str(eid), "payload": {"id": str(eid)}}
                 for eid in sorted(changed.get("events", ()), key=str)]
        out = []
        for chunk in range(0, len(items), 100):
            stamp = datetime.now(timezone.utc).isoformat()
            body = json.dumps({"data": items[chunk:chunk + 100], "meta": {
                "klaviyo_account_id": "SANDBOX", "klaviyo_webhook_id": "sandbox-webhook", "timestamp": stamp}}).encode()
            out.append(("", body, klaviyo_headers(self.secrets["klaviyo"], body, stamp)))
        return out

    # -- delivery ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, url: str, body: bytes, headers: dict) -> None:
        for attempt in range(self.retries + 1):
            try:
                if self._client.post(url, content=body, headers=headers).is_success:
                    self.sent += 1
                    return
            except httpx.HTTPError:
                pass
            time.sleep(self.backoff * 2 ** attempt)
        self.failed += 1
        log.warning("sandbox webhook to %s given up after %d tries", url, self.retries + 1)
