"""WooCommerce REST API v3 source: orders (with their line, tax, shipping, fee and coupon
lines as child tables), customers and products, incremental on `date_modified_gmt`
(customers, which have no modified filter, as ingest/woocommerce/customers.py explains)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import dlt
from dlt.common.configuration import with_config

from ingest.columnar import columnar_resource
from ingest.cursor import OverlapCursor
from ingest.reconcile import flag_missing, is_due, mark_reconciled
from ingest.woocommerce.customers import OrderCustomers, customers
from ingest.woocommerce.helpers import WooCommerceClient, fresh
from ingest.woocommerce.settings import (
    CUSTOMER_COLUMNS,
    ORDER_COLUMNS,
    ORDER_NESTED_HINTS,
    OVERLAP,
    PAGE_SIZE,
    PRODUCT_COLUMNS,
)
from seamline.settings import raw_schema  # not `settings`: the name is this package's own module

# every resource reaches dlt as Arrow tables with their own child tables (ingest/columnar.py)
COLUMNAR_RESOURCES = ("orders", "customers", "products")


@dlt.source(name="woocommerce", section="woocommerce")
def woocommerce(
    base_url: str = dlt.config.value,
    consumer_key: str = dlt.secrets.value,
    consumer_secret: str = dlt.secrets.value,
    page_size: int = PAGE_SIZE,
    customers_full_scan_hours: float = 24.0,
    stats: Any = None,
    client: Any = None,
):
    # `client` lets the benchmark replay recorded pages through this same code path
    client = client or WooCommerceClient(base_url, consumer_key, consumer_secret, stats)
    handoff = OrderCustomers()  # customer ids of this run's orders, for the customers resource
    return (
        columnar_resource(orders, name="orders", primary_key="id", columns=ORDER_COLUMNS,
                          nested_hints=ORDER_NESTED_HINTS)(client, page_size, handoff),
        columnar_resource(customers, name="customers", primary_key="id",
                          columns=CUSTOMER_COLUMNS)(client, page_size, handoff, customers_full_scan_hours),
        columnar_resource(products, name="products", primary_key="id", columns=PRODUCT_COLUMNS)(client, page_size),
    )


def orders(client: WooCommerceClient, page_size: int, handoff: OrderCustomers) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=OVERLAP)
    since = cursor.start()
    if "customers" not in dlt.current.source().selected_resources:
        handoff.wanted = False
    try:
        # `status=any` hides trashed orders; a second pass over `status=trash` finds them
        for status in ("any", "trash"):
            for page in client.walk_modified("orders", {"status": status}, since, "orders", page_size):
                changed = fresh(cursor, page)
                seen_at = datetime.now(timezone.utc)
                for order in changed:
                    deleted = order.get("status") == "trash"
                    order["is_deleted"] = deleted
                    order["deleted_seen_at"] = seen_at if deleted else None
                handoff.collect(changed)
                if changed:
                    yield changed
        cursor.commit()
        handoff.orders_complete = True
    finally:  # the customers resource waits for this, however the orders end
        handoff.orders_ended = True


def products(client: WooCommerceClient, page_size: int) -> Iterator[list[dict]]:
    cursor = OverlapCursor(dlt.current.resource_state(), overlap=OVERLAP)
    for page in client.walk_modified("products", {}, cursor.start(), "products", page_size):
        if changed := fresh(cursor, page):
            yield changed
    cursor.commit()


@with_config(sections=("sources", "woocommerce"))
def reconcile_deletes(
    db,
    stats: Any = None,
    full_load: bool = False,
    base_url: str = dlt.config.value,
    consumer_key: str = dlt.secrets.value,
    consumer_secret: str = dlt.secrets.value,
    reconcile_interval_hours: float = 24.0,
) -> dict[str, int]:
    """Flag orders that were force-deleted (they vanish from every listing).

    Runs at most every `reconcile_interval_hours`. Listing ids costs one call per 100 orders.
    A listing paged by number can miss an id when another order is deleted mid-walk, so
    every candidate is confirmed with its own GET before it is flagged.
    """
    if full_load:
        mark_reconciled(db, "woocommerce", "orders")
        return {}
    if not is_due(db, "woocommerce", "orders", timedelta(hours=reconcile_interval_hours)):
        return {}
    client = WooCommerceClient(base_url, consumer_key, consumer_secret, stats)
    remote: set[int] = set()
    for status in ("any", "trash"):
        params = {"status": status, "per_page": PAGE_SIZE, "orderby": "id", "order": "asc", "_fields": "id"}
        for page in client.walk_links("orders", params, "orders"):
            remote.update(order["id"] for order in page)
    candidates = _local_live_ids(db) - remote
    remote |= {order_id for order_id in candidates if client.exists(f"orders/{order_id}", "orders")}
    return {"orders": len(flag_missing(db, "woocommerce", "orders", remote))}


def _local_live_ids(db) -> set[int]:
    with db.cursor() as cur:
        cur.execute(f'select id from "{raw_schema("woocommerce")}".orders where not coalesce(is_deleted, false)')
        return {row[0] for row in cur.fetchall()}
