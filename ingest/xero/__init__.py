"""Xero Accounting source: invoices (LineItems as `invoices__line_items`), contacts, payments,
credit notes (with their lines), items and accounts.

Choices:
- Auth: OAuth2 with rotating refresh tokens. The refresh token in `ops.oauth_tokens` (if any)
  wins over the configured one; each refresh happens under a Postgres advisory lock, re-reads
  the stored token, and writes the rotated one back before the new access token is used (see
  tokens.py). If the stored token is refused and a different one is configured (the app was
  re-authorised), the configured one is tried. Tokens never appear in logs or messages.
  Every call carries `Xero-Tenant-Id`.
- Incremental: every collection on `UpdatedDateUTC`, asked with `If-Modified-Since` (UTC,
  whole seconds, exclusive) and `order=UpdatedDateUTC ASC`, read back an OVERLAP window and
  deduplicated on (id, UpdatedDateUTC). Invoices, contacts, payments and credit notes page
  with `page=` (always sent for invoices: without it Xero leaves out the LineItems), keyset
  style (helpers.walk_modified); items and accounts come unpaged in one call.
- Dates: .NET `/Date(ms+zzzz)/` values anywhere in a record become ISO 8601 UTC text in the
  response body before it is parsed (one pass over the bytes), which lands as timestamps; the
  `...DateString` fields (the organisation's calendar date) are kept verbatim as text.
  Amounts are parsed as Decimal (`decimal_numbers`), never float.
- Deletes: `is_deleted` / `deleted_seen_at` on invoices, payments and credit notes whose
  Status is DELETED, and on contacts whose ContactStatus is ARCHIVED (asked for with
  includeArchived=true; a restored contact is un-flagged). The rows keep their last values.
  VOIDED invoices are not deletes: VOIDED stays a status. Items and accounts carry no flag.
- Limits (per organisation: 60 a minute, 5000 a day): a minute limit is waited out by
  Retry-After; when X-MinLimit-Remaining runs low the client spaces its calls
  `pace_seconds` apart; a 429 with `X-Rate-Limit-Problem: day` raises RateLimitExhausted,
  which stops the run cleanly ("stopped"); the cursors stay where they were, so the next run
  resumes from them.
- Malformed pages (no `Status: OK`, the collection's array missing, a record without its id)
  are retried, then quarantined by the sync.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import dlt

from ingest.columnar import columnar_resource
from ingest.cursor import OverlapCursor
from ingest.xero.helpers import TOKEN_URL, XeroClient, net_dates_to_iso, parse_net_date, updated_at
from ingest.xero.settings import COLLECTIONS, HINTS, OVERLAP, PACE_SECONDS, PAGE_SIZE, Collection

__all__ = ["xero", "XeroClient", "net_dates_to_iso", "parse_net_date"]


# every collection reaches dlt as Arrow tables (ingest/columnar.py)
COLUMNAR_RESOURCES = tuple(COLLECTIONS)


@dlt.source(name="xero", section="xero")
def xero(
    base_url: str = dlt.config.value,
    token_url: str = TOKEN_URL,
    client_id: str = dlt.secrets.value,
    client_secret: str = dlt.secrets.value,
    refresh_token: str = dlt.secrets.value,
    tenant_id: str = dlt.secrets.value,
    page_size: int = PAGE_SIZE,
    pace_seconds: float = PACE_SECONDS,
    stats: Any = None,
):
    client = XeroClient(base_url, token_url, client_id, client_secret, refresh_token, tenant_id, stats,
                        pace_seconds=pace_seconds)
    resources = []
    for name, collection in COLLECTIONS.items():
        columns, nested = HINTS[name]
        if name in COLUMNAR_RESOURCES:
            resource = columnar_resource(read_collection, name=name, primary_key=collection.key, columns=columns,
                                         nested_hints=nested)
        else:
            resource = dlt.resource(read_collection, name=name, write_disposition="merge",
                                    primary_key=collection.key, columns=columns, nested_hints=nested)
        resources.append(resource(client, name, collection, page_size))
    return resources


def read_collection(client: XeroClient, name: str, collection: Collection, page_size: int) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=OVERLAP)
    since = cursor.start()
    if since is not None:
        since = min(since, datetime.now(timezone.utc))  # a cursor past now would hide every change
    if collection.paged:
        pages = client.walk_modified(collection, since, name, page_size)
    else:
        pages = client.read_whole(collection, since, name)
    for page in pages:
        fresh = []
        for record in page:
            if updated_at(record) is not None:
                modified = record["UpdatedDateUTC"]  # ISO text, as the parser wrote it
                if not cursor.is_new(record[collection.key], modified):
                    continue  # already loaded at this same update time (the overlap, or a keyset repeat)
                cursor.observe(record[collection.key], modified)
            fresh.append(record)
        if fresh:
            _flag_deletes(fresh, collection)
            yield fresh
    cursor.commit()


def _flag_deletes(records: list[dict], collection: Collection) -> None:
    if collection.status_field is None:
        return
    seen_at = datetime.now(timezone.utc)
    for record in records:
        deleted = record.get(collection.status_field) in collection.deleted
        record["is_deleted"] = deleted
        record["deleted_seen_at"] = seen_at if deleted else None
