"""Lightspeed X-Series: suites on the raw tables dlt lands in raw_lightspeed (ingest/lightspeed:
API 2.0 records, `line_items` and `payments` of a sale as child tables, soft deletes flagged with
`is_deleted`).

A sale's `total_price` is tax-exclusive and `total_tax` apart; each line carries its own
`total_price` (price x quantity) and `total_tax`. Returns are sales with `return_for` set whose
lines have `is_return` and negative quantities: negatives are legitimate there and nowhere else.

Accuracy is a raw-side checksum until shop sales reach the marts: per trading day (in the outlet's
time zone), the sales' tax-inclusive totals equal the payments taken for them, like a till's
end-of-day reconciliation. Once fct_orders carries shop sales (`source_system = 'lightspeed'`),
add a `marts_slice()` here (as suites/woocommerce.py does): the marts suite then reconciles the
marts' revenue and every live sale with these raw totals.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.suites.base import (
    FUTURE_SKEW,
    ISO_4217_CODES,
    MONEY_TOLERANCE,
    RAW_EMAIL_REGEX,
    SuiteSpec,
    Tagger,
    has_rows,
    in_set,
    loads_suite,
    non_negative,
    not_deleted,
    not_null,
    sql_check,
    unique,
)
from seamline import settings

INTEGRATION = "lightspeed"

SALE_STATUSES = (
    "OPEN", "SAVED", "CLOSED", "LAYBY", "LAYBY_CLOSED", "ONACCOUNT", "ONACCOUNT_CLOSED", "VOIDED",
    "AWAITING_DISPATCH", "AWAITING_PICKUP", "DISPATCHED_CLOSED", "PICKED_UP_CLOSED", "SERVICE", "SERVICE_CLOSED",
)
LINE_STATUSES = ("CONFIRMED", "VOIDED", "SAVED", "UNCONFIRMED")

tag = Tagger(INTEGRATION)


def _raw(table: str) -> str:
    return f"{settings.raw_schema(INTEGRATION)}.{table}"


def _spec(table: str, expectations: list) -> SuiteSpec:
    return SuiteSpec(f"{INTEGRATION}.raw.{table}", INTEGRATION, settings.raw_schema(INTEGRATION), table,
                     tuple(expectations))


def sales() -> SuiteSpec:
    lines = (
        f"select li._dlt_parent_id, sum(li.total_price) as lines_price, sum(li.total_tax) as lines_tax "
        f"from {_raw('sales__line_items')} as li group by li._dlt_parent_id"
    )
    paid = (
        f"select p._dlt_parent_id, sum(p.amount) as paid from {_raw('sales__payments')} as p "
        f"group by p._dlt_parent_id"
    )
    daily = (
        f"select cast(s.sale_date at time zone coalesce(o.time_zone, 'UTC') as date) as trading_day, "
        f"sum(s.total_price + s.total_tax) as sales_total, sum(coalesce(p.paid, 0)) as payments_total "
        f"from {{batch}} as s left join {_raw('outlets')} as o on o.id = s.outlet_id "
        f"left join ({paid}) as p on p._dlt_parent_id = s._dlt_id "
        f"where {not_deleted('s')} group by 1"
    )
    sale = Column("return_for").is_null()
    return _spec("sales", [
        has_rows(tag),
        *not_null(tag, ("id", "outlet_id", "register_id", "status", "invoice_number", "sale_date", "total_price",
                        "total_tax")),
        in_set(tag, "status", SALE_STATUSES),
        # a return refunds: its totals are negative
        *non_negative(tag, ("total_price", "total_tax"), row_condition=sale),
        unique(tag, "id"),
        tag("consistency", sql_check(
            "A sale's total plus tax is the sum of its lines' totals plus their tax, to the cent.",
            f"select s.id, s.total_price, s.total_tax, li.lines_price, li.lines_tax from {{batch}} as s "
            f"left join ({lines}) as li on li._dlt_parent_id = s._dlt_id "
            f"where abs(s.total_price + s.total_tax - (coalesce(li.lines_price, 0) + coalesce(li.lines_tax, 0))) "
            f"> {MONEY_TOLERANCE}",
        ), column="total_price"),
        tag("consistency", sql_check(
            "A sale's `totals` summary repeats its total_price and total_tax.",
            f"select id, total_price, totals__total_price, total_tax, totals__total_tax from {{batch}} "
            f"where abs(total_price - totals__total_price) > {MONEY_TOLERANCE} "
            f"or abs(total_tax - totals__total_tax) > {MONEY_TOLERANCE}",
        ), column="totals__total_price"),
        tag("consistency", sql_check(
            "A return names the sale it returns, and that sale was loaded.",
            f"select s.id, s.return_for from {{batch}} as s left join {_raw('sales')} as r on r.id = s.return_for "
            f"where s.return_for is not null and r.id is null",
        ), column="return_for"),
        tag("accuracy", sql_check(
            "Sale dates are in range: not before 2000, not in the future (an hour of clock skew allowed).",
            f"select id, sale_date from {{batch}} where sale_date < date '2000-01-01' "
            f"or sale_date > now() + {FUTURE_SKEW}",
        ), column="sale_date"),
        tag("accuracy", sql_check(
            "Per trading day, sales totals (tax inclusive) equal the payments taken for them, to the cent.",
            f"select d.trading_day, d.sales_total, d.payments_total from ({daily}) as d "
            f"where abs(d.sales_total - d.payments_total) > {MONEY_TOLERANCE}",
        ), column="total_price"),
    ])


def sale_lines() -> SuiteSpec:
    return _spec("sales__line_items", [
        *not_null(tag, ("id", "product_id", "quantity", "price", "total_price")),
        # negative quantities are legitimate on return lines only
        *non_negative(tag, ("quantity",), row_condition=Column("is_return") == False),  # noqa: E712
        *non_negative(tag, ("price", "tax")),
        in_set(tag, "status", LINE_STATUSES),
        tag("consistency", sql_check(
            "A line's total_price is its price times its quantity, to the cent.",
            f"select id, quantity, price, total_price from {{batch}} "
            f"where abs(total_price - price * quantity) > {MONEY_TOLERANCE}",
        ), column="total_price"),
        tag("consistency", sql_check(
            "Every line belongs to a sale that was loaded.",
            f"select li.id, li._dlt_parent_id from {{batch}} as li "
            f"left join {_raw('sales')} as s on s._dlt_id = li._dlt_parent_id where s._dlt_id is null",
        ), column="_dlt_parent_id"),
        tag("consistency", sql_check(
            "Every line names a product that was loaded.",
            f"select li.id, li.product_id from {{batch}} as li "
            f"left join {_raw('products')} as p on p.id = li.product_id where p.id is null",
        ), column="product_id"),
    ])


def customers() -> SuiteSpec:
    return _spec("customers", [
        *not_null(tag, ("id",)),
        # Lightspeed takes customers without an email, but then marks them do_not_email
        tag("completeness", sql_check(
            "A customer open to email (do_not_email false) has an email address.",
            "select id, customer_code from {batch} "
            "where not coalesce(do_not_email, false) and nullif(trim(email), '') is null",
        ), column="email"),
        # typed at the counter: stray spaces and capitals are kept, staging cleans them
        tag("validity", gxe.ExpectColumnValuesToMatchRegex(column="email", regex=RAW_EMAIL_REGEX)),
        unique(tag, "id"),
    ])


def products() -> SuiteSpec:
    return _spec("products", [
        *not_null(tag, ("id", "sku", "name")),
        *non_negative(tag, ("supply_price", "price_excluding_tax", "price_including_tax")),
        unique(tag, "id"),
        tag("consistency", gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="price_including_tax", column_B="price_excluding_tax", or_equal=True,
            ignore_row_if="either_value_is_missing",
        )),
    ])


def outlets() -> SuiteSpec:
    return _spec("outlets", [
        *not_null(tag, ("id", "time_zone")),
        in_set(tag, "currency", ISO_4217_CODES),
    ])


def suites() -> list[SuiteSpec]:
    return [sales(), sale_lines(), customers(), products(), outlets(), loads_suite(INTEGRATION)]
