"""Klaviyo JSON:API resources, as the real API sends them (revision 2024-10-15 era shapes).

`base` is the API root the client used (e.g. http://127.0.0.1:8000/klaviyo/api): Klaviyo's
links are absolute URLs. `drift` and `bad` apply the drift / bad_data faults.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sandbox.catalog import CATALOG
from sandbox.columns import utc_text
from sandbox.klaviyo.store import (
    CLICKED_EMAIL,
    PLACED_ORDER,
    SUBURB_COORDS,
    KCampaign,
    KlaviyoStore,
    KList,
    KMetric,
    KProfile,
    bad_kind,
    from_epoch,
)
from sandbox.woocommerce.store import line_amounts, totals_of

CATEGORY = {item.sku: item.category for item in CATALOG}


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _links(base: str, kind: str, rid: str, rel: str) -> dict:
    return {"self": f"{base}/{kind}/{rid}/relationships/{rel}/", "related": f"{base}/{kind}/{rid}/{rel}/"}


_SOURCES = {"woocommerce": "WooCommerce", "newsletter": "Newsletter form"}  # "api": made through the API


def render_profile(store: KlaviyoStore, p: KProfile, base: str, subscriptions: bool = False,
                   drift: str | None = None, bad: bool = False) -> dict:
    lat, lon = SUBURB_COORDS.get(p.address.city, (None, None))
    location = {
        "address1": p.address.line1, "address2": None, "city": p.address.city, "country": "Australia",
        "latitude": lat, "longitude": lon, "region": p.address.state, "zip": p.address.postcode,
        "timezone": "Australia/Melbourne", "ip": None,
    }
    attributes = {
        "email": p.email, "phone_number": p.phone, "external_id": None, "anonymous_id": None,
        "first_name": p.first_name, "last_name": p.last_name, "organization": None, "locale": "en-AU",
        "title": None, "image": None, "created": iso(p.created), "updated": iso(p.updated),
        "last_event_date": iso(from_epoch(p.last_event)) if p.last_event else None,
        "location": location,
        "properties": {**({"Source": _SOURCES[p.source]} if p.source in _SOURCES else {}),
                       **store.custom_properties.get(p.idx, {})},
    }
    if subscriptions:
        attributes["subscriptions"] = _subscriptions(store, p)
    if bad and bad_kind(p.id) in (0, 20):
        attributes["email"] = None
    if drift == "new_field":
        attributes["pronouns"] = None
    elif drift == "type_change":
        location["latitude"] = None if lat is None else str(lat)
        location["longitude"] = None if lon is None else str(lon)
    elif drift == "object_to_list":
        attributes["location"] = [location]
    return {
        "type": "profile", "id": p.id, "attributes": attributes,
        "relationships": {"lists": {"links": _links(base, "profiles", p.id, "lists")},
                          "segments": {"links": _links(base, "profiles", p.id, "segments")}},
        "links": {"self": f"{base}/profiles/{p.id}/"},
    }


def _subscriptions(store: KlaviyoStore, p: KProfile) -> dict:
    now = store.world.clock.now()
    method, detail = p.email_method or (None, None)
    email_marketing = {
        "can_receive_email_marketing": p.emailable(now),
        "consent": p.email_consent,
        "consent_timestamp": iso(p.email_consent_at),
        "last_updated": iso(p.suppression[1] if p.suppression else p.email_consent_at),
        "method": method, "method_detail": detail, "custom_method_detail": None,
        "double_optin": True if p.source == "newsletter" else None,
        "suppression": [{"reason": p.suppression[0], "timestamp": iso(p.suppression[1])}] if p.suppression else [],
        "list_suppressions": [],
    }
    sms = None
    if p.phone:
        sms = {"marketing": {
            "can_receive_sms_marketing": p.sms_consent_at is not None,
            "consent": "SUBSCRIBED" if p.sms_consent_at else "NEVER_SUBSCRIBED",
            "consent_timestamp": iso(p.sms_consent_at), "method": "TEXT" if p.sms_consent_at else None,
            "method_detail": "JOIN" if p.sms_consent_at else None, "last_updated": iso(p.sms_consent_at),
        }, "transactional": None}
    return {"email": {"marketing": email_marketing}, "sms": sms, "mobile_push": None}


def render_event(store: KlaviyoStore, idx: int, base: str, drift: str | None = None, bad: bool = False) -> dict:
    metric_idx, profile, ts, ref = store.event(idx)
    eid = store.event_id(idx)
    metric = store.metrics[metric_idx]
    if ref < 0:  # created through the API: what it was sent with
        sent, value, unique_id = store._api_events[-ref - 1]
        props = dict(sent)
        if value is not None:
            props["$value"] = value
        if unique_id is not None:
            props["$event_id"] = unique_id
    elif metric_idx == PLACED_ORDER:
        props = _placed_order_properties(store.orders[ref], bad_kind(eid) if bad else -1)
    else:
        c = store.campaigns[ref]
        props = {
            "Campaign Name": c.name, "Subject": c.subject, "$message": c.message_id,
            "Email Domain": (profile.email or "@").split("@")[-1].strip().lower(),
            "$event_id": f"{c.message_id}:{profile.id}:{metric_idx}",
        }
        if metric_idx == CLICKED_EMAIL:
            props["URL"] = "https://redhillfresh.example/shop?utm_source=klaviyo"
    attributes = {"timestamp": ts, "event_properties": props, "datetime": f"{utc_text(ts)}+00:00",
                  "uuid": store.event_uuid(idx)}
    profile_data = {"type": "profile", "id": profile.id}
    if drift == "new_field":
        attributes["value_currency"] = "AUD"
    elif drift == "type_change":
        attributes["timestamp"] = str(ts)
        if "$value" in props:
            props["$value"] = str(props["$value"])
    elif drift == "object_to_list":
        profile_data = [profile_data]
    return {
        "type": "event", "id": eid, "attributes": attributes,
        "relationships": {
            "profile": {"data": profile_data, "links": _links(base, "events", eid, "profile")},
            "metric": {"data": {"type": "metric", "id": metric.id}, "links": _links(base, "events", eid, "metric")},
        },
        "links": {"self": f"{base}/events/{eid}/"},
    }


def _placed_order_properties(order, bad: int) -> dict:
    order_lines = order.lines
    amounts = [line_amounts(order, line) for line in order_lines]
    totals = totals_of(amounts)
    items = []
    for line, a in zip(order_lines, amounts, strict=True):
        items.append({
            "ProductID": line.product_id, "SKU": line.sku, "ProductName": line.name, "Quantity": line.quantity,
            "ItemPrice": float(line.price), "RowTotal": float(a["total"]), "Categories": [CATEGORY.get(line.sku, "")],
        })
    value = float(totals["total"])
    if bad == 1 and items:
        items[0]["Quantity"] = -items[0]["Quantity"]
    elif bad == 2:
        value = round(value + 13.37, 2)
    return {
        "OrderId": str(order.id), "$event_id": str(order.id), "$value": value,
        "ItemNames": [line.name for line in order_lines],
        "Categories": sorted({CATEGORY.get(line.sku, "") for line in order_lines}),
        "DiscountCode": order.coupon, "DiscountValue": float(totals["discount"]),
        "Items": items, "Source": "WooCommerce",
    }


def render_metric(m: KMetric, base: str, drift: str | None = None) -> dict:
    key, name, category = m.integration
    integration = {"object": "integration", "id": m.integration_id, "key": key, "name": name, "category": category}
    attributes = {"name": m.name, "created": iso(m.created), "updated": iso(m.updated), "integration": integration}
    if drift == "new_field":
        attributes["default_unit"] = None
    elif drift == "object_to_list":
        attributes["integration"] = [integration]
    return {
        "type": "metric", "id": m.id, "attributes": attributes,
        "relationships": {"flow-triggers": {"links": _links(base, "metrics", m.id, "flow-triggers")}},
        "links": {"self": f"{base}/metrics/{m.id}/"},
    }


def render_list(lst: KList, base: str, drift: str | None = None) -> dict:
    attributes = {"name": lst.name, "created": iso(lst.created), "updated": iso(lst.updated),
                  "opt_in_process": lst.opt_in}
    if drift == "new_field":
        attributes["folder"] = None
    return {
        "type": "list", "id": lst.id, "attributes": attributes,
        "relationships": {"profiles": {"links": _links(base, "lists", lst.id, "profiles")},
                          "tags": {"links": _links(base, "lists", lst.id, "tags")},
                          "flow-triggers": {"links": _links(base, "lists", lst.id, "flow-triggers")}},
        "links": {"self": f"{base}/lists/{lst.id}/"},
    }


def render_campaign(store: KlaviyoStore, c: KCampaign, base: str, drift: str | None = None) -> dict:
    audiences = {"included": [store.lists[c.list_idx].id], "excluded": []}
    attributes = {
        "name": c.name, "status": c.status, "archived": False, "audiences": audiences,
        "send_options": {"use_smart_sending": c.channel == "email"},
        "tracking_options": {"add_tracking_params": c.channel == "email", "custom_tracking_params": None,
                             "is_tracking_clicks": True, "is_tracking_opens": c.channel == "email"},
        "send_strategy": {"method": "static", "datetime": iso(c.send_time),
                          "options": {"is_local": False, "send_past_recipients_immediately": None}},
        "created_at": iso(c.created), "scheduled_at": iso(c.scheduled), "updated_at": iso(c.updated),
        "send_time": iso(c.send_time) if c.status == "Sent" else None,
    }
    if drift == "new_field":
        attributes["send_window"] = None
    elif drift == "type_change":
        attributes["archived"] = "false"
    elif drift == "object_to_list":
        attributes["audiences"] = [audiences]
    return {
        "type": "campaign", "id": c.id, "attributes": attributes,
        "relationships": {
            "campaign-messages": {"data": [{"type": "campaign-message", "id": c.message_id}],
                                  "links": _links(base, "campaigns", c.id, "campaign-messages")},
            "tags": {"data": [], "links": _links(base, "campaigns", c.id, "tags")},
        },
        "links": {"self": f"{base}/campaigns/{c.id}/"},
    }

