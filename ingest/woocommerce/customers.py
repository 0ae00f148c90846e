"""WooCommerce customers, kept current without reading them all on every run.

The customers endpoint has no modified filter, so finding what changed means listing every
customer. That full scan (one call per 100 customers, filtered here on `date_modified_gmt`)
runs on the first run, after a full refresh, when the orders resource is not part of the run,
and at most every `customers_full_scan_hours` (wall clock). In between, a run reads only:

- the customers named by the orders this same run loaded (`include=<ids>`, 100 a call): a
  customer who orders is read again, so a change that came with an order lands at once;
- new sign-ups: ids above the highest one seen, newest first (`orderby=id&order=desc`) until a
  page reaches a known id;
- the customers named by the `customer.*` webhooks that started this sync, when webhooks are on.

Without webhooks, a profile edit by a customer who does not order waits for the next full
scan. The price of that bound is some re-reading: a run loads every customer it reads that was
modified after the newest change the last full scan saw (less the overlap), unless the overlap
window shows it already loaded that same version.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import dlt

from ingest.cursor import OverlapCursor, format_utc, parse_utc
from ingest.woocommerce.helpers import WooCommerceClient, fresh
from ingest.woocommerce.settings import OVERLAP

INCLUDE_MAX = 100  # ids per `include=` call: the API's per_page cap


class OrderCustomers:
    """The customer ids of the orders this run loaded, handed from orders to customers.

    Ids only (never records), and only while the customers resource still wants them."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self.wanted = True
        self.orders_ended = False  # the orders generator stopped (read to its end, or not)
        self.orders_complete = False  # ... and read every page

    def collect(self, orders: list[dict]) -> None:
        if self.wanted:
            self.ids.update(cid for cid in map(_customer_id, orders) if cid)


def _customer_id(order: dict) -> int | None:
    # a drifted payload may carry the id as text ("C-17"): no id, the full scan covers that customer
    value = order.get("customer_id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def customers(client: WooCommerceClient, page_size: int, handoff: OrderCustomers,
              full_scan_hours: float) -> Iterator[list[dict] | None]:
    """Pages of changed customers (for `columnar_resource`). It may first yield None: dlt then
    serves the other resources and comes back, so the orders resource has run to its end before
    customers decides what to read."""
    orders_selected = "orders" in dlt.current.source().selected_resources
    state = dlt.current.resource_state()
    full = full_scan_due(state, timedelta(hours=full_scan_hours)) or not orders_selected
    if full:
        handoff.wanted = False
        handoff.ids.clear()
    else:
        while not handoff.orders_ended:
            yield None
        full = not handoff.orders_complete
    yield from full_scan(client, page_size, state) if full else \
        targeted(client, page_size, state, handoff.ids | announced_by_webhooks())


def announced_by_webhooks() -> set[int]:
    """Customers whose `customer.*` webhooks started this sync: read them too, so an edit without
    an order arrives in real time when webhooks are on."""
    from seamline.database import get_database
    from webhooks.store import announced_ids

    return announced_ids(get_database(), "woocommerce", "customer")


def full_scan_due(state: dict, interval: timedelta) -> bool:
    last = state.get("full_scan_at")
    return last is None or state.get("max_id") is None or \
        datetime.now(timezone.utc) - parse_utc(last) >= interval


def full_scan(client: WooCommerceClient, page_size: int, state: dict) -> Iterator[list[dict]]:
    """Every customer by id; keep those modified since the newest change the last full scan saw."""
    started = datetime.now(timezone.utc)
    cursor = OverlapCursor(state, overlap=OVERLAP)
    # a state from before targeted runs existed has no floor: every run was a full scan then
    floor = _floor(state) if "full_scan_floor" in state else cursor.start()
    highest = state.get("max_id") or 0
    params = {"per_page": page_size, "orderby": "id", "order": "asc", "role": "all"}
    for page in client.walk_links("customers", params, "customers"):
        highest = max([highest, *(c["id"] for c in page)])
        if changed := fresh(cursor, [c for c in page if _modified_since(c, floor)]):
            yield changed
    cursor.commit()
    state["max_id"] = highest
    state["full_scan_at"] = format_utc(started)
    start = cursor.start()
    state["full_scan_floor"] = format_utc(start) if start else None


def targeted(client: WooCommerceClient, page_size: int, state: dict, ordered: set[int]) -> Iterator[list[dict]]:
    """New sign-ups, then the customers the run's orders name that were not among them."""
    cursor = OverlapCursor(state, overlap=OVERLAP)
    floor, known = _floor(state), state["max_id"]
    seen: set[int] = set()
    highest = known
    params = {"per_page": page_size, "orderby": "id", "order": "desc", "role": "all"}
    for page in client.walk_links("customers", params, "customers"):
        new = [c for c in page if c["id"] > known]
        seen.update(c["id"] for c in new)
        highest = max([highest, *seen])
        if changed := fresh(cursor, new):
            yield changed
        if len(new) < len(page) or len(page) < page_size:
            break
    wanted = sorted(ordered - seen)
    for start in range(0, len(wanted), INCLUDE_MAX):
        ids = wanted[start:start + INCLUDE_MAX]
        page, _ = client.get_page(f"{client.base_url}/customers", {
            "include": ",".join(map(str, ids)), "per_page": INCLUDE_MAX, "orderby": "include", "role": "all",
        }, "customers")
        if changed := fresh(cursor, [c for c in page if _modified_since(c, floor)]):
            yield changed
    cursor.commit()
    # only the walk moves the mark: an ordering customer newer than it leaves the ids between for the next walk
    state["max_id"] = highest


def _floor(state: dict) -> datetime | None:
    value = state.get("full_scan_floor")
    return parse_utc(value) if value else None


def _modified_since(customer: dict, floor: datetime | None) -> bool:
    return floor is None or parse_utc(customer["date_modified_gmt"]) >= floor
