"""Finale Inventory constants: filter windows, entity cap, pacing, and the column types dlt must not guess."""

from __future__ import annotations

import copy
from datetime import timedelta

MAX_WINDOW = timedelta(days=30)  # a `lastUpdatedDate` filter may span at most 30 days
MAX_ENTITIES = 120_000  # one response holds at most this many entities, silently cut
INITIAL_DAYS = 365  # the first sync reads from this many days back unless `initial_date` is set
OVERLAP = timedelta(minutes=60)  # re-read behind the cursor; records already held are dropped by key
# 429s carry X-RateLimit-Reset (a Unix time): a minute window is waited out, an hour one stops the run
MAX_RATE_LIMIT_WAIT = 120.0
PACE_BELOW_SHARE = 0.10  # under a tenth of the minute's requests left, spread the rest until the reset

# Finale collection -> (our table, its key column)
COLLECTIONS = {
    "products": ("product", "productId"),
    "orders": ("order", "orderId"),
    "shipments": ("shipment", "shipmentId"),
    "suppliers": ("partygroup", "partyId"),
    "facilities": ("facility", "facilityId"),
    "inventory_items": ("inventoryitem", "productId"),
}


def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column, named: dlt writes names into root hints and needs them in nested ones
    return {c: {**hint, "name": c} for c in columns}


# money and quantities arrive as JSON numbers: parsed as Decimal, never float
MONEY = {"data_type": "decimal", "precision": 20, "scale": 6}
QUANTITY = {"data_type": "decimal", "precision": 20, "scale": 6}
UTC_TIME = {"data_type": "timestamp", "timezone": True}  # Finale writes UTC without an offset

# a record changed while its windows are read shows up twice in one load: the newer one wins the merge
_STAMPS = {**_typed(UTC_TIME, "createdDate"),
           "lastUpdatedDate": {**UTC_TIME, "name": "lastUpdatedDate", "dedup_sort": "desc"}}

_COLUMNS = {
    "products": {**_STAMPS, **_typed(MONEY, "cost")},
    "orders": {**_STAMPS, **_typed(UTC_TIME, "orderDate", "receiveDate", "shipDate")},
    "shipments": {**_STAMPS, **_typed(UTC_TIME, "shipDate", "receiveDate")},
    "suppliers": {**_STAMPS},
    "facilities": {**_STAMPS},
    "inventory_items": {**_typed(UTC_TIME, "lastUpdatedDate"),
                        **_typed(QUANTITY, "quantityOnHand", "quantityOnOrder", "quantityReserved")},
}

_NESTED = {
    "products": {
        "priceList": {"columns": _typed(MONEY, "price")},
        "supplierList": {"columns": _typed(MONEY, "supplierPrice")},
        "reorderGuidelineList": {"columns": _typed(QUANTITY, "reorderPoint", "reorderQuantity")},
    },
    "orders": {"orderItemList": {"columns": {**_typed(QUANTITY, "quantity"), **_typed(MONEY, "unitPrice")}}},
    "shipments": {"shipmentItemList": {"columns": _typed(QUANTITY, "quantity")}},
}


def columns(resource: str) -> dict:
    """The root table's column hints (a fresh copy: dlt may write into them)."""
    return copy.deepcopy(_COLUMNS[resource])


def nested_hints(resource: str) -> dict | None:
    """Hints for the child tables (`orders__order_item_list`, ...)."""
    return copy.deepcopy(_NESTED[resource]) if resource in _NESTED else None
