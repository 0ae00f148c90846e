"""Klaviyo source (JSON:API): profiles, events, lists, campaigns and metrics.

Rows are the resource objects flattened: the `attributes` become columns, `id` is kept, and
each relationship that carries data keeps its ids (`profile_id` and `metric_id` on events,
`campaign_messages_ids` on campaigns). Nested objects flatten into columns
(`location__city`), nested lists become child tables (`events__event_properties__items`).
Every resource is merged on `id`.

Choices:
- profiles: incremental on `updated`, asked as `filter=greater-than(updated,<ts>Z)&sort=updated`
  (profiles refuse `greater-or-equal`), read back an overlap window and deduplicated on
  (id, updated). `additional-fields[profile]=subscriptions` is always asked for, so consent
  and suppressions land (`subscriptions__email__marketing__*` and the child table
  `profiles__subscriptions__email__marketing__suppression`).
- events: immutable, so merged on id; read in `datetime` windows of at most
  `events_window_days` (`greater-or-equal` the lower bound, `less-than` the upper), with the
  cursor on `datetime`, read back EVENT_OVERLAP (integrations deliver some events late).
  Windows run up to the newest event the API holds and the last one is open above, so
  every lower bound comes from Klaviyo's own data (one extra call finds the oldest event on
  the first run, and one the newest when the cursor is more than a window behind).
- campaigns: Klaviyo demands a channel filter; each channel in `campaign_channels` is read
  with `equals(messages.channel,'<channel>')` (and `greater-than(updated_at,...)` once there
  is a cursor); the channel is kept as a column.
- lists and metrics are small: read whole every run (one or two calls) and only records whose
  content changed since the last run are loaded.
- Deletes: Klaviyo exposes none. Unsubscribes and bounces arrive as suppressions on the
  profile (an attribute change, so an update); there is no `is_deleted` flag here.
- Lower bounds are never sent in the future (Klaviyo answers 400): they are clamped to now.
- Rate limits are per endpoint: a 429 is waited out by `Retry-After`, and the client paces
  itself when `RateLimit-Remaining` runs low (see helpers).
- Money (`$value`, item prices) is parsed as Decimal, never float.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
import orjson

from ingest.ahead import read_ahead
from ingest.columnar import columnar_resource
from ingest.cursor import OverlapCursor, parse_utc
from ingest.klaviyo.helpers import KlaviyoClient, flatten, klaviyo_time, not_in_future
from ingest.klaviyo.settings import (
    CAMPAIGN_CHANNELS,
    CAMPAIGN_COLUMNS,
    CAMPAIGN_OVERLAP,
    EVENT_COLUMNS,
    EVENT_OVERLAP,
    EVENT_WINDOW_DAYS,
    LIST_COLUMNS,
    METRIC_COLUMNS,
    PROFILE_COLUMNS,
    PROFILE_OVERLAP,
    PROFILE_PAGE_SIZE,
    REVISION,
)

# the two big streams reach dlt as Arrow tables (ingest/columnar.py)
COLUMNAR_RESOURCES = ("profiles", "events")


@dlt.source(name="klaviyo", section="klaviyo")
def klaviyo(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    revision: str = REVISION,
    campaign_channels: str = CAMPAIGN_CHANNELS,
    events_window_days: int = EVENT_WINDOW_DAYS,
    stats: Any = None,
):
    client = KlaviyoClient(base_url, api_key, stats, revision=revision)
    channels = [c.strip() for c in campaign_channels.split(",") if c.strip()]
    return (
        columnar_resource(profiles, name="profiles", primary_key="id", columns=PROFILE_COLUMNS)(client),
        columnar_resource(events, name="events", primary_key="id", columns=EVENT_COLUMNS)(client, events_window_days),
        dlt.resource(lists, name="lists", write_disposition="merge", primary_key="id",
                     columns=LIST_COLUMNS)(client),
        dlt.resource(campaigns, name="campaigns", write_disposition="merge", primary_key="id",
                     columns=CAMPAIGN_COLUMNS)(client, channels),
        dlt.resource(metrics, name="metrics", write_disposition="merge", primary_key="id",
                     columns=METRIC_COLUMNS)(client),
    )


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _fresh(cursor: OverlapCursor, rows: list[dict], field: str) -> list[dict]:
    """The rows not yet loaded at this same `field` time; each is counted into the cursor."""
    fresh = []
    for row in rows:
        stamp = row.get(field)
        if not isinstance(stamp, str) or not stamp:
            fresh.append(row)  # cannot place it on the cursor: load it (the merge dedupes)
            continue
        if cursor.is_new(row["id"], stamp):
            cursor.observe(row["id"], stamp)
            fresh.append(row)
    return fresh


def profiles(client: KlaviyoClient) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=PROFILE_OVERLAP)
    params = {"page[size]": PROFILE_PAGE_SIZE, "sort": "updated", "additional-fields[profile]": "subscriptions"}
    start = cursor.start()
    if start is not None:
        params["filter"] = f"greater-than(updated,{klaviyo_time(not_in_future(start, _now()))})"
    for page in read_ahead(client.walk("profiles", params, "profiles")):
        if fresh := _fresh(cursor, [flatten(p) for p in page], "updated"):
            yield fresh
    cursor.commit()


def events(client: KlaviyoClient, window_days: int) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=EVENT_OVERLAP, immutable=True)
    span = timedelta(days=max(1, window_days))
    lo = cursor.start()
    if lo is None:
        lo = _edge_event_time(client, "datetime")  # the oldest event: where the history starts
        if lo is None:
            return  # no events yet
    lo = not_in_future(lo, _now())
    # Windows up to the newest event the API holds, the last one open above: every lower bound
    # comes from the API's own data, so none is in the future even if our clock runs ahead.
    windows: list[tuple[datetime, datetime | None]] = []
    if _now() - lo > span:
        newest = _edge_event_time(client, "-datetime")
        while newest is not None and lo + span <= newest:
            windows.append((lo, lo + span))
            lo += span
    windows.append((lo, None))
    for lower, upper in windows:
        flt = f"greater-or-equal(datetime,{klaviyo_time(lower)})"
        if upper is not None:
            flt += f",less-than(datetime,{klaviyo_time(upper)})"
        for page in read_ahead(client.walk("events", {"filter": flt, "sort": "datetime"}, "events")):
            if fresh := _fresh(cursor, [flatten(e) for e in page], "datetime"):
                yield fresh
        cursor.commit()  # the window is read: the cursor covers it


def _edge_event_time(client: KlaviyoClient, sort: str) -> datetime | None:
    """The `datetime` of the oldest (`datetime`) or newest (`-datetime`) event: one call."""
    params = {"sort": sort, "fields[event]": "datetime"}
    for page in client.walk("events", params, "events"):
        stamps = [e["attributes"].get("datetime") for e in page[:1]]
        stamps = [parse_utc(s) for s in stamps if isinstance(s, str) and s]
        return stamps[0] if stamps else None
    return None


def campaigns(client: KlaviyoClient, channels: list[str]) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=CAMPAIGN_OVERLAP)
    start = cursor.start()
    for channel in channels:
        flt = f"equals(messages.channel,'{channel}')"
        if start is not None:
            flt += f",greater-than(updated_at,{klaviyo_time(not_in_future(start, _now()))})"
        for page in client.walk("campaigns", {"filter": flt, "sort": "updated_at"}, "campaigns"):
            rows = [{**flatten(c), "channel": channel} for c in page]
            if fresh := _fresh(cursor, rows, "updated_at"):
                yield fresh
    cursor.commit()


def lists(client: KlaviyoClient) -> Iterator[list[dict]]:
    yield from _whole(client, "lists")


def metrics(client: KlaviyoClient) -> Iterator[list[dict]]:
    yield from _whole(client, "metrics")


def _whole(client: KlaviyoClient, path: str) -> Iterator[list[dict]]:
    """Read a small collection whole; load the records whose content changed since last run."""
    state = dlt.current.resource_state()
    known: dict[str, str] = state.get("digests") or {}
    seen: dict[str, str] = {}
    for page in client.walk(path, None, path):
        changed = []
        for row in map(flatten, page):
            digest = hashlib.blake2b(orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str),
                                     digest_size=10).hexdigest()
            seen[row["id"]] = digest
            if known.get(row["id"]) != digest:
                changed.append(row)
        if changed:
            yield changed
    state["digests"] = seen  # only now that every page was read
