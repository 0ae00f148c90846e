"""Lightspeed Retail X-Series (API 2.0) source: sales (with `line_items` and `payments` as child
tables), customers, products, inventory and outlets; registers on request.

Choices:
- Cursor: paging IS the incremental. Every record carries the retailer-wide, increasing `version`;
  each resource asks `after=<last version>&page_size=200`, follows `after=version.max` and stops at an
  empty `data`. The last version lives in the dlt resource state (`cursor.last_value`) and moves after
  each page has been yielded, so it never runs ahead of the data it covers (dlt commits the state
  with the load package). No overlap window is needed: versions are exact, not clock times.
- Deletes: soft. We ask with `deleted=true` (documented as unverified; `include_deleted` turns it
  off) so records with `deleted_at` arrive like any change, with their values as last sent; the
  source sets `is_deleted` and `deleted_seen_at` (when the sync saw the deleted version; the
  vendor's own time stays in `deleted_at`). A sale VOIDED at the counter is a status, not a delete.
- Merge on `id` for every table; child rows of a changed sale are replaced with it. A record changed
  while we page comes back later in the same walk: one load holds one version of a record, so the
  newer is left for the next run, whose walk starts just below its version.
- Money: prices and taxes are JSON numbers with up to 5 decimals: parsed as Decimal and hinted
  numeric(20,5); timestamps are hinted timestamptz. Other fields are left to dlt, so a type change
  lands in a variant column that the run record reports.
- Rate limits: 300 x registers + 50 requests per 5 minutes. Below a tenth of the window left (from
  X-RateLimit-Limit/-Remaining) requests slow to the sustainable rate; a 429's Retry-After (an HTTP
  date) is waited out by the HTTP client, up to `max_rate_limit_wait` (a whole window by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from functools import partial
from typing import Any

import dlt

from ingest.columnar import columnar_resource
from ingest.lightspeed.helpers import LightspeedClient
from ingest.lightspeed.settings import (
    MAX_PACE_SECONDS,
    MAX_RATE_LIMIT_WAIT,
    PAGE_SIZE,
    RESOURCES,
    columns,
    nested_hints,
)
from ingest.seen import SeenKeys

# every resource reaches dlt as Arrow tables (ingest/columnar.py)
COLUMNAR_RESOURCES = (*RESOURCES, "registers")


@dlt.source(name="lightspeed", section="lightspeed")
def lightspeed(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    page_size: int = PAGE_SIZE,
    include_deleted: bool = True,
    include_registers: bool = False,
    max_pace_seconds: float = MAX_PACE_SECONDS,
    max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
    stats: Any = None,
):
    client = LightspeedClient(base_url, access_token, stats, max_pace_seconds=max_pace_seconds,
                              max_wait=max_rate_limit_wait)
    resources = []
    for name in (*RESOURCES, "registers"):
        declare = columnar_resource if name in COLUMNAR_RESOURCES else partial(
            dlt.resource, write_disposition="merge")
        resource = declare(versioned, name=name, primary_key="id", columns=columns(name),
                           nested_hints=nested_hints(name), selected=name != "registers" or include_registers)
        resources.append(resource(client, name, page_size, include_deleted))
    return resources


def versioned(client: LightspeedClient, path: str, page_size: int, include_deleted: bool) -> Iterator[list[dict]]:
    """Every record of `path` changed since the version in the resource state, page by page."""
    state = dlt.current.resource_state().setdefault("cursor", {"last_value": None})
    after = int(state.get("last_value") or 0)
    # a record changed during the walk comes back with a higher version; one load holds one
    # version of a record, so the newer waits for the next run and the position stops short of
    # it. SeenKeys holds hashes, not ids: memory stays small, and a collision only delays a
    # record by a run.
    yielded = SeenKeys()
    held_back: int | None = None
    for rows, top in client.walk(path, after, path, page_size, include_deleted):
        seen_at = datetime.now(timezone.utc)
        fresh = []
        for row in rows:
            if yielded.meet(row["id"]):
                version = int(row.get("version") or top)
                held_back = version if held_back is None else min(held_back, version)
                continue
            deleted = bool(row.get("deleted_at"))
            row["is_deleted"] = deleted
            row["deleted_seen_at"] = seen_at if deleted else None
            fresh.append(row)
        if fresh:
            yield fresh
        # only now that the page is handed over does the position move past it
        state["last_value"] = str(top if held_back is None else min(top, held_back - 1))
