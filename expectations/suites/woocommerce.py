"""WooCommerce: suites on the raw tables dlt lands in raw_woocommerce, and its slice of the marts.

Raw data is checked as the API sent it (emails keep stray spaces, statuses keep WooCommerce's
spelling); the marts slice (see `marts.py`) is checked against the canonical model.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.suites.base import (
    EMAIL_REGEX,
    ISO_4217_CODES,
    MONEY_TOLERANCE,
    RAW_EMAIL_REGEX,
    SuiteSpec,
    Tagger,
    loads_suite,
    not_deleted,
    sql_check,
)
from expectations.suites.marts import MartsSlice
from seamline import settings

INTEGRATION = "woocommerce"

ORDER_STATUSES = (
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash",
    "checkout-draft",
)

tag = Tagger(INTEGRATION)


def _raw(table: str) -> str:
    return f"{settings.raw_schema(INTEGRATION)}.{table}"


def live_orders_sql() -> str:
    """The orders the marts should show as live: not deleted, not in the trash, and from a load
    dlt finished (staging skips rows of an unfinished load, so a check must too)."""
    return (
        f"select cast(o.id as text) as order_id, o.total as total, o.date_modified_gmt as modified_at "
        f"from {_raw('orders')} as o where o.status <> 'trash' and {not_deleted('o')} "
        f"and o._dlt_load_id in (select l.load_id from {_raw('_dlt_loads')} as l where l.status = 0)"
    )


def _not_null(columns: tuple[str, ...]) -> list:
    return [tag("completeness", gxe.ExpectColumnValuesToNotBeNull(column=c)) for c in columns]


def _non_negative(columns: tuple[str, ...]) -> list:
    return [tag("validity", gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)) for c in columns]


def orders() -> SuiteSpec:
    items_total = (
        f"select li._dlt_parent_id, sum(li.total) as items_total "
        f"from {_raw('orders__line_items')} as li group by li._dlt_parent_id"
    )
    expectations = [
        tag("completeness", gxe.ExpectTableRowCountToBeBetween(min_value=1)),
        *_not_null(("id", "number", "status", "currency", "total", "billing__email", "date_created_gmt",
                    "_dlt_id")),
        tag("validity", gxe.ExpectTableColumnsToMatchSet(
            column_set=["id", "number", "status", "currency", "total", "total_tax", "shipping_total",
                        "discount_total", "billing__email", "date_created_gmt", "date_modified_gmt",
                        "customer_id", "_dlt_load_id", "_dlt_id"],
            exact_match=False,  # dlt adds columns as the API grows; only missing ones matter
        )),
        tag("validity", gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES))),
        tag("validity", gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=list(ISO_4217_CODES))),
        tag("validity", gxe.ExpectColumnValuesToMatchRegex(column="billing__email", regex=RAW_EMAIL_REGEX)),
        *_non_negative(("total", "total_tax", "shipping_total", "discount_total")),
        tag("validity", sql_check(
            "No order is created in the future (an hour of clock skew allowed).",
            "select id, date_created_gmt from {batch} where date_created_gmt > now() + interval '1 hour'",
        ), column="date_created_gmt"),
        tag("consistency", gxe.ExpectColumnValuesToBeUnique(column="id")),
        tag("consistency", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="date_modified_gmt", column_B="date_created_gmt", or_equal=True,
            ignore_row_if="either_value_is_missing",  # nulls are completeness's business
        )),
        tag("consistency", sql_check(
            "An order's total is its line totals plus shipping plus all tax, to the cent.",
            f"select o.id, o.total, li.items_total, o.shipping_total, o.total_tax "
            f"from {{batch}} as o left join ({items_total}) as li on li._dlt_parent_id = o._dlt_id "
            f"where abs(o.total - (coalesce(li.items_total, 0) + coalesce(o.shipping_total, 0) "
            f"+ coalesce(o.total_tax, 0))) > {MONEY_TOLERANCE}",
        ), column="total"),
        tag("consistency", sql_check(
            "Every order placed by a registered customer (customer_id <> 0) names a known one.",
            f"select o.id, o.customer_id from {{batch}} as o "
            f"left join {_raw('customers')} as c on c.id = o.customer_id "
            f"where o.customer_id <> 0 and c.id is null",
        ), column="customer_id"),
    ]
    return SuiteSpec(f"{INTEGRATION}.raw.orders", INTEGRATION, settings.raw_schema(INTEGRATION), "orders",
                     tuple(expectations))


def line_items() -> SuiteSpec:
    expectations = [
        *_not_null(("id", "product_id", "quantity", "total", "_dlt_parent_id")),
        *_non_negative(("quantity", "price", "subtotal", "total", "total_tax")),
        tag("consistency", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="subtotal", column_B="total", or_equal=True,  # a coupon only ever lowers a line
            ignore_row_if="either_value_is_missing",
        )),
        tag("consistency", sql_check(
            "Every line item belongs to an order that was loaded.",
            f"select li.id, li._dlt_parent_id from {{batch}} as li "
            f"left join {_raw('orders')} as o on o._dlt_id = li._dlt_parent_id where o._dlt_id is null",
        ), column="_dlt_parent_id"),
    ]
    return SuiteSpec(f"{INTEGRATION}.raw.orders__line_items", INTEGRATION, settings.raw_schema(INTEGRATION),
                     "orders__line_items", tuple(expectations))


def customers() -> SuiteSpec:
    expectations = [
        *_not_null(("id", "email")),
        # WordPress normalises account emails, so customers get the strict pattern
        tag("validity", gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX)),
        tag("consistency", gxe.ExpectColumnValuesToBeUnique(column="id")),
    ]
    return SuiteSpec(f"{INTEGRATION}.raw.customers", INTEGRATION, settings.raw_schema(INTEGRATION),
                     "customers", tuple(expectations))


def loads() -> SuiteSpec:
    return loads_suite(INTEGRATION)


def suites() -> list[SuiteSpec]:
    return [orders(), line_items(), customers(), loads()]


def marts_slice() -> MartsSlice:
    return MartsSlice(integration=INTEGRATION, source_system="woocommerce", channel="web",
                      live_orders_sql=live_orders_sql())
