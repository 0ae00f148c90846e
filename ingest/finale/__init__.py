"""Finale Inventory source: products, inventory_items, orders (purchase and sales orders in one
table, told apart by `orderTypeId`), shipments, suppliers and facilities.

Choices:
- Format: collections are column-major (one array per field). `helpers.zip_columns` turns them into
  rows; arrays of unequal length (or a missing key column) fail `get_json`'s validation, are retried
  and then quarantined as a malformed response: a format change never becomes zero rows.
- Cursor: products, orders, shipments and suppliers are read with `filter` on `lastUpdatedDate`, in
  windows of at most 30 days that always have a lower bound. The first sync starts at `initial_date`
  (default: 365 days ago; set it to before the account's oldest record for a complete history);
  later syncs start at the cursor minus `overlap_minutes` and drop records already held at the same
  `lastUpdatedDate` (ingest.cursor.OverlapCursor, kept in the dlt resource state and committed once
  the windows are read). A response holding exactly the entity cap (120,000) was cut: its window is
  halved and both halves read again.
- suppliers: `partygroup` holds suppliers and customers; roles are a list (not filterable), so the
  rows are read by date and kept when `roleTypeIdList` has SUPPLIER.
- facilities: a handful of rows, read whole and merged every run (no filter, one request).
- inventory_items: `inventoryitem` cannot be filtered, so every run reads it whole; it is a
  snapshot (one row per product x facility x lot, plus on-order/reserved rows per open order) and
  is loaded with `replace`. Rows vanish in Finale when a lot is used up or an order completes: they
  are not deleted records, so a replaced table that equals Finale's current stock is the truth,
  where merge would need a composite key with nullable parts (lot, order) and a reconciliation to
  retire them. History of levels, if wanted, is the dbt snapshot's job. A whole read that returns
  the entity cap is refused rather than replacing the table with a truncated snapshot.
- Deletes: Finale has no delete feed; products, orders and parties are deactivated or cancelled
  through `statusId`, which stays a status (no `is_deleted` columns here).
- Merge on `productId`, `orderId`, `shipmentId`, `partyId`, `facilityId`, with `lastUpdatedDate` as
  the dedup sort (a record changed while its windows are read comes twice: the newer wins). Money
  and quantities are parsed as Decimal and hinted numeric(20,6); dates (UTC, no offset) are hinted
  timestamptz, so a number sent as a string is coerced into its column, exactly.
- Rate limits (unverified: about 120 GET a minute and 300 collection reads an hour): responses carry
  X-RateLimit-Limit/-Remaining/-Reset for the minute; under `pace_below_share` (a tenth) left,
  requests spread until the reset. A 429's X-RateLimit-Reset (a Unix time) is turned into the wait before the retry; one
  further off than `max_rate_limit_wait` (the hourly limit) stops the run cleanly (status "stopped")
  and the next run resumes from the saved cursors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

import dlt

from ingest.columnar import columnar_resource
from ingest.cursor import OverlapCursor, parse_utc
from ingest.finale.helpers import FinaleClient
from ingest.finale.settings import (
    COLLECTIONS,
    INITIAL_DAYS,
    MAX_ENTITIES,
    MAX_RATE_LIMIT_WAIT,
    OVERLAP,
    PACE_BELOW_SHARE,
    columns,
    nested_hints,
)

# the merged collections reach dlt as Arrow tables (ingest/columnar.py); inventory_items is
# replaced whole and stays dicts
COLUMNAR_RESOURCES = ("products", "orders", "shipments", "suppliers", "facilities")


@dlt.source(name="finale", section="finale")
def finale(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    api_secret: str = dlt.secrets.value,
    initial_date: str | None = None,
    overlap_minutes: float = OVERLAP.total_seconds() / 60,
    max_entities: int = MAX_ENTITIES,
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
    pace_below_share: float = PACE_BELOW_SHARE,
    stats: Any = None,
):
    client = FinaleClient(base_url, api_key, api_secret, stats, max_entities=max_entities,
                          max_wait=max_rate_limit_wait, pace_below_share=pace_below_share)
    initial = first_sync_start(initial_date)
    overlap = timedelta(minutes=overlap_minutes)

    def merged(name: str, reader, *args):
        key = COLLECTIONS[name][1]
        declare = columnar_resource if name in COLUMNAR_RESOURCES else partial(dlt.resource, write_disposition="merge")
        return declare(reader, name=name, primary_key=key, columns=columns(name),
                       nested_hints=nested_hints(name))(client, name, *args)

    return (
        merged("products", updated, initial, overlap),
        dlt.resource(whole, name="inventory_items", write_disposition="replace",
                     columns=columns("inventory_items"))(client, "inventory_items"),
        merged("orders", updated, initial, overlap),
        merged("shipments", updated, initial, overlap),
        merged("suppliers", updated, initial, overlap, is_supplier),
        merged("facilities", whole),
    )


def first_sync_start(initial_date: str | None) -> datetime:
    if initial_date:
        return parse_utc(str(initial_date))
    start = datetime.now(timezone.utc) - timedelta(days=INITIAL_DAYS)
    return start.replace(hour=0, minute=0, second=0, microsecond=0)


def is_supplier(row: dict) -> bool:
    roles = row.get("roleTypeIdList")
    return isinstance(roles, list) and "SUPPLIER" in roles


def updated(client: FinaleClient, name: str, initial: datetime, overlap: timedelta,
            keep: Callable[[dict], bool] | None = None) -> Iterator[list[dict]]:
    """The records of a collection updated since the cursor (minus the overlap), each once."""
    collection, key = COLLECTIONS[name]
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=overlap, initial=initial)
    for rows in client.updated_since(collection, key, name, cursor.start()):
        fresh = []
        for row in rows:
            if keep is not None and not keep(row):
                continue
            modified = row.get("lastUpdatedDate")
            if not isinstance(modified, str):
                fresh.append(row)  # cannot be placed on the cursor; merge makes a repeat harmless
                continue
            if cursor.is_new(row[key], modified):
                cursor.observe(row[key], modified)
                fresh.append(row)
        if fresh:
            yield fresh
    cursor.commit()


def whole(client: FinaleClient, name: str) -> Iterator[list[dict]]:
    """A collection read without a filter (facilities: small; inventory items: cannot be filtered)."""
    collection, key = COLLECTIONS[name]
    if rows := client.read_whole(collection, key, name):
        yield rows
