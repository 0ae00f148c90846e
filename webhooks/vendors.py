"""Each vendor's webhook: how it is signed, and what it names.

A verifier takes the raw body, the request headers (lowercase names), the query string, the
signing secret and the current time; it returns the `Delivery` to store, None for a handshake
to answer 200 without storing (WooCommerce's creation ping, Xero's intent-to-receive), or
raises `Refused` (401 for a bad or missing signature or a stale timestamp, 400 for a body
that is signed but unreadable). Signatures are checked before the body is parsed, and always
with `hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs

from webhooks.secrets import setting

# vendor resource names -> the dlt resources (raw tables) an incremental sync refreshes
RESOURCES = {
    "woocommerce": {"order": "orders", "customer": "customers", "product": "products", "coupon": "coupons"},
    "xero": {"INVOICE": "invoices", "CONTACT": "contacts", "CREDITNOTE": "credit_notes", "PAYMENT": "payments",
             "ITEM": "items", "ACCOUNT": "accounts"},
    "lightspeed": {"sale": "sales", "customer": "customers", "product": "products", "inventory": "inventory",
                   "outlet": "outlets"},
    "klaviyo": {"event": "events", "profile": "profiles", "list": "lists", "campaign": "campaigns",
                "metric": "metrics"},
}
KLAVIYO_TOLERANCE_SECONDS = 300.0  # Klaviyo-Timestamp further than this from our clock: a replay


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass
class Delivery:
    source: str
    dedupe_key: str  # unique per source: the vendor's delivery id, or resource + modified time + body hash
    topic: str
    resources: list[str] = field(default_factory=list)  # vendor resource names, e.g. ["order"]


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


def _json(body: bytes, what: str):
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, f"the body is not JSON ({what})") from None


def _content_key(resource: str, modified: str, body: bytes) -> str:
    return f"{resource}@{modified}#{hashlib.sha256(body).hexdigest()}"


def woocommerce(body: bytes, headers: Mapping[str, str], query: Mapping[str, str], secret: str,
                now: float) -> Delivery | None:
    signature = headers.get("x-wc-webhook-signature")
    if signature is None and parse_qs(body.decode("latin-1")).keys() == {"webhook_id"}:
        return None  # the unsigned ping WooCommerce sends when a webhook is created
    if not _same(signature, base64.b64encode(hmac_sha256(secret, body)).decode()):
        raise Refused(401, "missing or wrong X-WC-Webhook-Signature")
    record = _json(body, "WooCommerce sends the resource as JSON")
    resource = headers.get("x-wc-webhook-resource") or headers.get("x-wc-webhook-topic", "").partition(".")[0]
    if not isinstance(record, dict) or not resource:
        raise Refused(400, "a WooCommerce delivery needs a resource header and a JSON object")
    topic = headers.get("x-wc-webhook-topic") or f"{resource}.{headers.get('x-wc-webhook-event', 'updated')}"
    delivery_id = headers.get("x-wc-webhook-delivery-id")
    key = (f"delivery:{delivery_id}" if delivery_id else
           _content_key(f"{resource}:{record.get('id')}", str(record.get("date_modified_gmt")), body))
    return Delivery("woocommerce", key, topic, [resource])


def xero(body: bytes, headers: Mapping[str, str], query: Mapping[str, str], secret: str,
         now: float) -> Delivery | None:
    if not _same(headers.get("x-xero-signature"), base64.b64encode(hmac_sha256(secret, body)).decode()):
        raise Refused(401, "missing or wrong x-xero-signature")
    payload = _json(body, "Xero sends {events: [...]}")
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not all(isinstance(e, dict) and e.get("eventCategory") for e in events):
        raise Refused(400, "a Xero delivery needs an events list, each with an eventCategory")
    if not events:
        return None  # intent to receive: a correctly signed empty list, answered 200
    categories = sorted({e["eventCategory"] for e in events})
    ids = ",".join(sorted(f"{e['eventCategory']}:{e.get('resourceId')}" for e in events))
    modified = max(str(e.get("eventDateUtc")) for e in events)
    return Delivery("xero", _content_key(ids, modified, body), "+".join(
        f"{c.lower()}.{e}" for c, e in sorted({(e["eventCategory"], e.get("eventType", "UPDATE")) for e in events})),
        categories)


def lightspeed(body: bytes, headers: Mapping[str, str], query: Mapping[str, str], secret: str,
               now: float) -> Delivery | None:
    # an OAuth app's webhooks carry `X-Signature: signature=<hex>, algorithm=HMAC-SHA256`; a
    # webhook added by hand has none, so its URL carries a secret token (`?token=...`)
    # (the header's exact form follows Vend's documentation and is unverified against a live store)
    header = headers.get("x-signature")
    if header is not None:
        fields = dict(part.strip().partition("=")[::2] for part in header.split(","))
        given = fields.get("signature", header)
        if fields.get("algorithm", "HMAC-SHA256").upper() != "HMAC-SHA256" or \
                not _same(given, hmac_sha256(secret, body).hex()):
            raise Refused(401, "wrong X-Signature")
    elif not _same(query.get("token"), secret):
        raise Refused(401, "no X-Signature and no valid token in the URL")
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the body is not form-encoded") from None
    record = _json((form.get("payload") or [""])[0].encode(), "Lightspeed sends a form field `payload`")
    kind = (form.get("type") or [""])[0]
    if not isinstance(record, dict) or "." not in kind:
        raise Refused(400, "a Lightspeed delivery needs `type` (e.g. sale.update) and a JSON object `payload`")
    resource = kind.partition(".")[0]
    modified = str(record.get("version") or record.get("updated_at"))
    return Delivery("lightspeed", _content_key(f"{resource}:{record.get('id')}", modified, body), kind, [resource])


def _timestamp(raw: str) -> float:
    raw = raw.strip()
    if raw.replace(".", "", 1).isdigit():
        return float(raw)
    stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def klaviyo(body: bytes, headers: Mapping[str, str], query: Mapping[str, str], secret: str,
            now: float) -> Delivery | None:
    # Klaviyo's system webhooks: Klaviyo-Signature is the hex HMAC-SHA256 of the raw body followed
    # by the Klaviyo-Timestamp header value; the timestamp is signed, so a replay shows its age
    stamp = headers.get("klaviyo-timestamp")
    if stamp is None or not _same(headers.get("klaviyo-signature"), hmac_sha256(secret, body + stamp.encode()).hex()):
        raise Refused(401, "missing or wrong Klaviyo-Signature")
    try:
        sent = _timestamp(stamp)
    except ValueError:
        raise Refused(400, "Klaviyo-Timestamp is not a time") from None
    if abs(now - sent) > setting("klaviyo", "tolerance_seconds", KLAVIYO_TOLERANCE_SECONDS):
        raise Refused(401, "Klaviyo-Timestamp is outside the allowed window (a replay?)")
    payload = _json(body, "Klaviyo sends {data: [...], meta: {...}}")
    items = payload.get("data") if isinstance(payload, dict) else None
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not isinstance(meta, dict) or \
            not all(isinstance(i, dict) and isinstance(i.get("topic"), str) for i in items):
        raise Refused(400, "a Klaviyo delivery needs a data list with topics and a meta object")
    if meta.get("klaviyo_webhook_id") != headers.get("klaviyo-webhook-id"):
        raise Refused(401, "meta.klaviyo_webhook_id does not match the Klaviyo-Webhook-Id header")
    topics = sorted({i["topic"] for i in items})
    resources = sorted({t.partition(":")[0].partition(".")[0] for t in topics})
    ids = ",".join(sorted(str(i.get("external_id")) for i in items))
    return Delivery("klaviyo", _content_key(ids, stamp, body), "+".join(topics), resources)


Verifier = Callable[[bytes, Mapping[str, str], Mapping[str, str], str, float], "Delivery | None"]
VERIFIERS: dict[str, Verifier] = {"woocommerce": woocommerce, "xero": xero, "lightspeed": lightspeed,
                                  "klaviyo": klaviyo}
