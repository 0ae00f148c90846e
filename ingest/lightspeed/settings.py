"""Lightspeed Retail X-Series constants: paging, rate-limit pacing, and the column types dlt must not guess."""

from __future__ import annotations

import copy

PAGE_SIZE = 200  # the API's maximum for `page_size`
RESOURCES = ("sales", "customers", "products", "inventory", "outlets")  # plus `registers`, off by default

# 300 x registers + 50 requests per 5-minute window, per retailer and application
RATE_WINDOW_SECONDS = 300.0
# below this share of the window's requests left, slow to the sustainable rate (window / limit a request)
PACE_BELOW_SHARE = 0.10
MAX_PACE_SECONDS = 5.0
# a 429 names the end of the 5-minute window (an HTTP date): wait it out rather than stop the run
MAX_RATE_LIMIT_WAIT = 310.0


def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column, named: dlt writes names into root hints and needs them in nested ones
    return {c: {**hint, "name": c} for c in columns}


# prices and taxes come with up to 5 decimals, as JSON numbers (parsed as Decimal, never float)
MONEY = {"data_type": "decimal", "precision": 20, "scale": 5}
UTC_TIME = {"data_type": "timestamp", "timezone": True}

_COMMON = {
    **_typed(UTC_TIME, "deleted_at", "deleted_seen_at"),
    "is_deleted": {"name": "is_deleted", "data_type": "bool"},
    # a record changed while we page shows up twice in one load: the newer version wins the merge
    "version": {"name": "version", "data_type": "bigint", "dedup_sort": "desc"},
}

_COLUMNS = {
    "sales": {
        **_COMMON,
        **_typed(MONEY, "total_price", "total_tax", "total_loyalty", "totals__total_price", "totals__total_tax",
                 "totals__total_payment", "totals__total_to_pay"),
        **_typed(UTC_TIME, "created_at", "updated_at", "sale_date"),
    },
    "customers": {
        **_COMMON,
        **_typed(MONEY, "balance", "loyalty_balance"),
        **_typed(UTC_TIME, "created_at", "updated_at"),
    },
    "products": {
        **_COMMON,
        **_typed(MONEY, "supply_price", "price_including_tax", "price_excluding_tax"),
        **_typed(UTC_TIME, "created_at", "updated_at"),
    },
    "inventory": {**_COMMON, **_typed(MONEY, "average_cost")},
    "outlets": {**_COMMON},
    "registers": {**_COMMON, **_typed(UTC_TIME, "register_open_time", "register_close_time")},
}

_NESTED = {
    "sales": {
        "line_items": {"columns": _typed(
            MONEY, "price", "price_total", "tax", "tax_total", "discount", "discount_total", "cost", "cost_total",
            "loyalty_value", "unit_price", "unit_tax", "unit_discount", "unit_cost", "total_price", "total_tax",
            "total_discount", "total_cost")},
        ("line_items", "tax_components"): {"columns": _typed(MONEY, "total_tax")},
        "payments": {"columns": {**_typed(MONEY, "amount"), **_typed(UTC_TIME, "payment_date", "deleted_at")}},
        "taxes": {"columns": _typed(MONEY, "amount")},
    },
}


def columns(resource: str) -> dict:
    """The root table's column hints (a fresh copy: dlt may write into them)."""
    return copy.deepcopy(_COLUMNS[resource])


def nested_hints(resource: str) -> dict | None:
    """Hints for the child tables (`sales__line_items`, `sales__payments`, ...)."""
    return copy.deepcopy(_NESTED[resource]) if resource in _NESTED else None
