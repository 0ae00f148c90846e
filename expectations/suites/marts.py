"""marts.fct_orders, checked per integration: each integration's rows of the shared fact table.

fct_orders holds every channel's orders, so a failure is scored against the integration whose rows
fail: column checks carry a row condition on `source_system`, SQL checks filter on it. Accuracy and
timeliness reconcile the slice with the integration's raw orders, which its module describes in a
`MartsSlice`.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column

from expectations.suites.base import (
    CANONICAL_ORDER_STATUSES,
    EMAIL_REGEX,
    ISO_4217_CODES,
    MONEY_TOLERANCE,
    SuiteSpec,
    Tagger,
    sql_check,
    sql_literal,
)
from seamline import settings

TABLE = "fct_orders"


@dataclass(frozen=True)
class MartsSlice:
    """How one integration appears in fct_orders and where its raw orders are."""

    integration: str
    source_system: str
    """fct_orders.source_system for this integration's rows."""
    channel: str
    """'web' or 'shop'."""
    live_orders_sql: str
    """A select of the raw orders the marts should show as live (not deleted): columns order_id (text,
    as in the marts),
    total, modified_at."""


def fct_orders(s: MartsSlice) -> SuiteSpec:
    tag = Tagger(s.integration)
    mine = Column("source_system") == s.source_system
    this_source = f"source_system = {sql_literal(s.source_system)}"
    live = f"({s.live_orders_sql}) as live"

    def rows(expectation_class, **kwargs):
        return expectation_class(row_condition=mine, **kwargs)

    expectations = [
        tag("completeness", rows(gxe.ExpectTableRowCountToBeBetween, min_value=1)),
        *[tag("completeness", rows(gxe.ExpectColumnValuesToNotBeNull, column=c))
          for c in ("order_key", "order_id", "customer_email", "order_total", "ordered_at")],
        tag("validity", rows(gxe.ExpectColumnValuesToBeInSet, column="order_status",
                             value_set=list(CANONICAL_ORDER_STATUSES))),
        tag("validity", rows(gxe.ExpectColumnValuesToBeInSet, column="currency",
                             value_set=list(ISO_4217_CODES))),
        tag("validity", rows(gxe.ExpectColumnValuesToBeInSet, column="channel", value_set=[s.channel])),
        tag("validity", rows(gxe.ExpectColumnValuesToMatchRegex, column="customer_email", regex=EMAIL_REGEX)),
        *[tag("validity", rows(gxe.ExpectColumnValuesToBeBetween, column=c, min_value=0))
          for c in ("items_total", "shipping_total", "tax_total", "discount_total", "order_total",
                    "line_count")],
        tag("consistency", rows(gxe.ExpectColumnValuesToBeUnique, column="order_key")),
        tag("consistency", rows(gxe.ExpectColumnPairValuesAToBeGreaterThanB,
                                column_A="updated_at", column_B="ordered_at", or_equal=True,
                                ignore_row_if="either_value_is_missing")),
        tag("consistency", sql_check(
            "order_total = items_total + shipping_total + tax_total, to the cent.",
            f"select order_key, order_total, items_total, shipping_total, tax_total from {{batch}} "
            f"where {this_source} and abs(order_total - (coalesce(items_total, 0) "
            f"+ coalesce(shipping_total, 0) + coalesce(tax_total, 0))) > {MONEY_TOLERANCE}",
        ), column="order_total"),
        tag("accuracy", sql_check(
            f"Revenue in the marts equals the {s.integration} raw order totals, to the cent.",
            f"select m.revenue as marts_revenue, r.revenue as raw_revenue "
            f"from (select coalesce(sum(fo.order_total), 0) as revenue from {{batch}} as fo "
            f"where fo.{this_source} and not coalesce(fo.is_deleted, false)) as m "
            f"cross join (select coalesce(sum(live.total), 0) as revenue from {live}) as r "
            f"where abs(m.revenue - r.revenue) > {MONEY_TOLERANCE}",
        ), column="order_total"),
        tag("accuracy", sql_check(
            f"Every live {s.integration} order is in the marts with its raw total.",
            f"select live.order_id, live.total as raw_total, m.order_total as marts_total from {live} "
            f"left join {{batch}} as m on m.order_id = live.order_id and m.{this_source} "
            f"and not coalesce(m.is_deleted, false) "
            f"where m.order_id is null or abs(m.order_total - live.total) > {MONEY_TOLERANCE}",
        ), column="order_id"),
        tag("accuracy", sql_check(
            f"No marts order claims to come from {s.integration} without a live raw order.",
            f"select m.order_key, m.order_id from {{batch}} as m "
            f"left join {live} on live.order_id = m.order_id "
            f"where m.{this_source} and not coalesce(m.is_deleted, false) and live.order_id is null",
        ), column="order_key"),
        tag("timeliness", sql_check(
            f"The marts have caught up with the newest {s.integration} raw change.",
            f"select m.newest as marts_newest, r.newest as raw_newest "
            f"from (select max(fo.updated_at) as newest from {{batch}} as fo where fo.{this_source}) as m "
            f"cross join (select max(live.modified_at) as newest from {live}) as r "
            f"where r.newest is not null and (m.newest is null or m.newest < r.newest)",
        ), column="updated_at"),
    ]
    return SuiteSpec(f"marts.{TABLE}.{s.integration}", s.integration, settings.schema("marts"), TABLE,
                     tuple(expectations))


def suites(slices: list[MartsSlice]) -> list[SuiteSpec]:
    return [fct_orders(s) for s in slices]
