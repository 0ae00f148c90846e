"""Writes through the Klaviyo API: profile import (create or update) and event creation.

Each function checks the whole request before it changes anything and raises `KlaviyoInvalid`
(a JSON:API 400 with a `source.pointer`) on bad input. Nothing here draws from the store's random
stream, so a world that takes writes keeps the rest of its history.

- `import_profile`: matched by `id`, else email (case-insensitive), else phone_number; created when
  none matches. A new profile for the email of someone the shop knows becomes that person's profile
  (the WooCommerce integration then uses it rather than making a second one). `updated` = now.
- `create_event`: the metric (by name) and the profile are created when missing. Events with the same
  metric, profile and `unique_id` are stored once (a "Placed Order" whose unique_id is a web order
  number the integration already sent counts as that event).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone

from sandbox.klaviyo.store import CROCKFORD, PLACED_ORDER, KlaviyoStore, KMetric, KProfile
from sandbox.people import Address

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
API_INTEGRATION = ("api", "API", "API")
MAX_METRICS = 255  # metric indexes are one byte


class KlaviyoInvalid(Exception):
    def __init__(self, detail: str, pointer: str):
        super().__init__(detail)
        self.detail, self.pointer = detail, pointer


def _hash(*parts) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=10).digest(), "big")


def _ulid(store: KlaviyoStore, dt: datetime, n: int) -> str:
    value = (int(dt.timestamp() * 1000) << 80) | _hash(store.seed, "klaviyo:api-profile", n)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def _short(store: KlaviyoStore, kind: str, n: int) -> str:
    from sandbox.klaviyo.store import BASE62

    value, out = _hash(store.seed, f"klaviyo:{kind}", n), []
    for _ in range(6):
        value, r = divmod(value, 62)
        out.append(BASE62[r])
    return "".join(out)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


# -- profiles ---------------------------------------------------------------------------------
def _profile_fields(attrs, pointer: str) -> dict:
    """The profile attributes a write may set, checked."""
    if not isinstance(attrs, dict):
        raise KlaviyoInvalid("The profile attributes must be an object.", pointer)
    out = {}
    email = _text(attrs.get("email"))
    if email:
        if not _EMAIL.match(email):
            raise KlaviyoInvalid(f"Invalid email address: '{email}'.", f"{pointer}/email")
        out["email"] = email
    phone = _text(attrs.get("phone_number"))
    if phone:
        if not _E164.match(phone):
            raise KlaviyoInvalid("Invalid phone number format (Example of a valid phone number format: "
                                 "+12345678901)", f"{pointer}/phone_number")
        out["phone"] = phone
    for field in ("first_name", "last_name"):
        if attrs.get(field) is not None:
            if not isinstance(attrs[field], str):
                raise KlaviyoInvalid(f"'{field}' must be a string.", f"{pointer}/{field}")
            out[field] = attrs[field].strip()
    props = attrs.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            raise KlaviyoInvalid("'properties' must be an object.", f"{pointer}/properties")
        out["properties"] = props
    return out


def _find_profile(store: KlaviyoStore, pid: str, fields: dict) -> KProfile | None:
    if pid:
        return store.profiles_by_id.get(pid)
    index = store._email_index()
    if fields.get("email"):
        idx = index.get(fields["email"].casefold())
        if idx is not None:
            return store.profile_list[idx]
    if fields.get("phone"):
        return next((p for p in store.profile_list if p.phone == fields["phone"]), None)
    return None


def _apply(store: KlaviyoStore, p: KProfile, fields: dict, now: datetime) -> None:
    if fields.get("email") and fields["email"] != p.email:
        store._email_index().pop(p.email.casefold(), None)
        p.email = fields["email"]
        store._email_index()[p.email.casefold()] = p.idx
    if fields.get("phone"):
        p.phone = fields["phone"]
    for field in ("first_name", "last_name"):
        if field in fields:
            setattr(p, field, fields[field])
    if fields.get("properties"):
        store.custom_properties.setdefault(p.idx, {}).update(fields["properties"])
    p.updated = max(p.updated, now)


def _create(store: KlaviyoStore, fields: dict, now: datetime) -> KProfile:
    email = fields.get("email", "")
    person = store._person_by_email().get(email.casefold()) if email else None
    person_id = person.person_id if person is not None and person.person_id not in store.profiles else 0
    n = len(store.profile_list)
    p = KProfile(idx=n, id=_ulid(store, now, n), person_id=person_id, email=email, phone=fields.get("phone"),
                 first_name=fields.get("first_name", ""), last_name=fields.get("last_name", ""),
                 address=Address("", "", ""), created=now, updated=now, source="api",
                 email_consent="NEVER_SUBSCRIBED", email_consent_at=None, email_method=None, suppression=None,
                 sms_consent_at=None)
    store.profile_list.append(p)
    store.profiles_by_id[p.id] = p
    if person_id:
        store.profiles[person_id] = p
    if email:
        store._email_index()[email.casefold()] = n
    if fields.get("properties"):
        store.custom_properties[n] = dict(fields["properties"])
    return p


def _profile_data(data, pointer: str) -> tuple[str, dict]:
    """(id, checked fields) of a JSON:API profile resource."""
    if not isinstance(data, dict):
        raise KlaviyoInvalid("'data' must be a profile resource object.", pointer)
    if data.get("type") != "profile":
        raise KlaviyoInvalid(f"Invalid type '{data.get('type')}': expected 'profile'.", f"{pointer}/type")
    fields = _profile_fields(data.get("attributes") or {}, f"{pointer}/attributes")
    pid = _text(data.get("id"))
    if not (pid or fields.get("email") or fields.get("phone")):
        raise KlaviyoInvalid("One of 'email', 'phone_number' or 'id' is required to identify a profile.",
                             f"{pointer}/attributes")
    return pid, fields


def import_profile(store: KlaviyoStore, data) -> tuple[int, bool]:
    """Create or update one profile; returns (its idx, whether it was created)."""
    pid, fields = _profile_data(data, "/data")
    p = _find_profile(store, pid, fields)
    if pid and p is None:
        raise KlaviyoInvalid(f"A profile with id {pid} does not exist.", "/data/id")
    now = store.world.clock.now()
    created = p is None
    if created:
        p = _create(store, fields, now)
    else:
        _apply(store, p, fields, now)
    store.version += 1
    return p.idx, created


# -- events -------------------------------------------------------------------------------------
def _time(raw, now: datetime) -> int:
    if raw is None or raw == "":
        return int(now.timestamp())
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return int(raw)
    try:
        dt = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise KlaviyoInvalid(f"Invalid datetime '{raw}': use ISO 8601, e.g. 2024-05-01T12:00:00Z.",
                             "/data/attributes/time") from None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp())


def create_event(store: KlaviyoStore, data) -> bool:
    """Store one event (making its metric and profile when missing); False when deduplicated."""
    if not isinstance(data, dict):
        raise KlaviyoInvalid("'data' must be an event resource object.", "/data")
    if data.get("type") != "event":
        raise KlaviyoInvalid(f"Invalid type '{data.get('type')}': expected 'event'.", "/data/type")
    attrs = data.get("attributes")
    if not isinstance(attrs, dict):
        raise KlaviyoInvalid("'attributes' is required.", "/data/attributes")
    props = attrs.get("properties")
    if not isinstance(props, dict):
        raise KlaviyoInvalid("'properties' is required and must be an object.", "/data/attributes/properties")
    metric = attrs.get("metric")
    metric_data = metric.get("data") if isinstance(metric, dict) else None
    name = metric_data.get("attributes", {}).get("name") if isinstance(metric_data, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise KlaviyoInvalid("A metric name is required.", "/data/attributes/metric/data/attributes/name")
    profile = attrs.get("profile")
    pid, fields = _profile_data(profile.get("data") if isinstance(profile, dict) else None,
                                "/data/attributes/profile/data")
    value = attrs.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise KlaviyoInvalid("'value' must be a number.", "/data/attributes/value")
    unique_id = attrs.get("unique_id")
    if unique_id is not None and not isinstance(unique_id, str | int):
        raise KlaviyoInvalid("'unique_id' must be a string.", "/data/attributes/unique_id")
    unique_id = None if unique_id is None else str(unique_id)
    now = store.world.clock.now()
    ts = _time(attrs.get("time"), now)
    p = _find_profile(store, pid, fields)
    if pid and p is None:
        raise KlaviyoInvalid(f"A profile with id {pid} does not exist.", "/data/attributes/profile/data/id")
    m = next((m for m in store.metrics if m.name == name.strip()), None)
    if m is None and len(store.metrics) >= MAX_METRICS:
        raise KlaviyoInvalid("The account has too many metrics.", "/data/attributes/metric")
    # checked: from here on it changes the account
    if p is None:
        p = _create(store, fields, now)
    elif any(k != "email" for k in fields):  # what the event says of its profile updates it
        _apply(store, p, {k: v for k, v in fields.items() if k != "email"}, now)
    if m is None:
        n = len(store.metrics)
        m = KMetric(n, _short(store, "metric", n), name.strip(), API_INTEGRATION, _short(store, "integration", n),
                    now, now)
        store.metrics.append(m)
    if unique_id is not None and _duplicate(store, m.idx, p.idx, unique_id):
        store.version += 1
        return False
    store._api_events.append((props, value, unique_id))
    idx = store._add_event(m.idx, p, ts, -len(store._api_events))
    if unique_id is not None:
        store._event_keys[(m.idx, p.idx, unique_id)] = idx
    store.version += 1
    return True


def _duplicate(store: KlaviyoStore, metric: int, profile: int, unique_id: str) -> bool:
    if (metric, profile, unique_id) in store._event_keys:
        return True
    if metric == PLACED_ORDER and unique_id.isdigit():  # the integration's own Placed Order events
        idx = store.placed_order_events.get(int(unique_id))
        return idx is not None and store._ev_profile[idx] == profile
    return False
