"""The business metrics page's figures, read from the dbt marts only (never from raw or staging).

Each section is None when its mart has not been built (its source has not landed), so the page
says so instead of failing. Days are the marts' `order_date` (a shop's calendar day, the
retailer's for web orders); money is in AUD, GST included (`gross_revenue_aud`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from seamline import settings
from seamline.database import Database

DEFAULT_DAYS = 30
TOP_PRODUCTS = 10


@dataclass
class DateRange:
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def _marts() -> str:
    return settings.schema("marts")


def _exists(cur, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (f'"{_marts()}"."{table}"',))
    return cur.fetchone()[0]


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def date_range(db: Database, start: str | None, end: str | None) -> DateRange | None:
    """The range asked for; unset or unreadable ends default to the last DEFAULT_DAYS days with
    orders. None when no orders have been modelled yet."""
    with db.cursor() as cur:
        if not _exists(cur, "fct_orders"):
            return None
        cur.execute(f"select min(order_date), max(order_date) from {_marts()}.fct_orders")
        first, last = cur.fetchone()
    if last is None:
        return None
    end_day = _parse_day(end) or last
    start_day = _parse_day(start) or max(first, end_day - timedelta(days=DEFAULT_DAYS - 1))
    if start_day > end_day:
        start_day, end_day = end_day, start_day
    end_day = min(end_day, start_day + timedelta(days=366))  # a year at most on one page
    return DateRange(start_day, end_day)


def revenue(db: Database, period: DateRange) -> dict:
    """Gross revenue per day and channel (web, each shop), and orders and average order value per
    channel. An order counts when it counts as revenue with a positive amount (a return is revenue
    but no order)."""
    with db.cursor() as cur:
        cur.execute(f"""
            select
                order_date,
                case when channel = 'web' then 'web' else coalesce(outlet_name, 'shop') end as channel_name,
                round(sum(gross_revenue_aud), 2) as revenue,
                count(*) filter (where counts_as_revenue and gross_revenue_aud > 0) as orders,
                coalesce(sum(gross_revenue_aud) filter (where counts_as_revenue and gross_revenue_aud > 0), 0)
                    as order_value
            from {_marts()}.fct_orders
            where order_date between %s and %s
            group by 1, 2
            order by 1, 2
        """, (period.start, period.end))
        rows = cur.fetchall()
    channels = sorted({channel for _, channel, *_ in rows}, key=lambda c: (c != "web", c))
    by_day: dict[date, dict[str, Decimal]] = {}
    orders_by_day: dict[date, dict[str, int]] = {}
    totals = {c: {"revenue": Decimal(0), "orders": 0, "order_value": Decimal(0)} for c in channels}
    for day, channel, amount, orders, order_value in rows:
        by_day.setdefault(day, {})[channel] = amount
        orders_by_day.setdefault(day, {})[channel] = orders
        totals[channel]["revenue"] += amount
        totals[channel]["orders"] += orders
        totals[channel]["order_value"] += order_value
    if totals:
        totals["all channels"] = {k: sum(t[k] for t in totals.values()) for k in ("revenue", "orders", "order_value")}
    summary = [{"channel": channel, "revenue": t["revenue"], "orders": t["orders"],
                "aov": (t["order_value"] / t["orders"]).quantize(Decimal("0.01")) if t["orders"] else None}
               for channel, t in totals.items()]
    return {"channels": channels, "by_day": by_day, "orders_by_day": orders_by_day, "summary": summary}


def top_products(db: Database, period: DateRange) -> list[dict]:
    """The best sellers in the range by sales before GST (lines of orders that count as revenue)."""
    with db.cursor() as cur:
        cur.execute(f"""
            select
                lines.sku,
                coalesce(max(products.product_name), max(lines.product_name)) as product_name,
                sum(lines.quantity) as quantity,
                round(sum(lines.line_total), 2) as sales
            from {_marts()}.fct_order_lines as lines
            inner join {_marts()}.fct_orders as orders on lines.order_key = orders.order_key
            left join {_marts()}.dim_products as products on lines.sku = products.sku
            where orders.order_date between %s and %s and orders.counts_as_revenue
            group by lines.sku
            order by sales desc, lines.sku
            limit %s
        """, (period.start, period.end, TOP_PRODUCTS))
        keys = ("sku", "product_name", "quantity", "sales")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]


def low_stock(db: Database) -> dict | None:
    """Stock on hand below the reorder point now, per location (fct_inventory)."""
    with db.cursor() as cur:
        if not _exists(cur, "fct_inventory"):
            return None
        cur.execute(f"""
            select location_name, source_system, sku, quantity_on_hand, reorder_point, base_unit
            from {_marts()}.fct_inventory
            where reorder_point > 0 and quantity_on_hand < reorder_point
            order by location_name, source_system, quantity_on_hand - reorder_point, sku
        """)
        keys = ("location_name", "source_system", "sku", "quantity_on_hand", "reorder_point", "base_unit")
        items = [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
    per_location: dict[str, int] = {}
    for item in items:
        label = f"{item['location_name']} ({item['source_system']})"
        per_location[label] = per_location.get(label, 0) + 1
    return {"items": items, "per_location": per_location}


def invoice_reconciliation(db: Database, period: DateRange) -> dict | None:
    """Web orders of the range against their Xero invoices: how many match, which do not."""
    with db.cursor() as cur:
        if not _exists(cur, "fct_order_invoice_reconciliation"):
            return None
        scope = f"""
            from {_marts()}.fct_order_invoice_reconciliation as recon
            inner join {_marts()}.fct_orders as orders on recon.order_key = orders.order_key
            where orders.order_date between %s and %s"""
        cur.execute(f"select recon.reconciliation_status, count(*) {scope} group by 1 order by 1",
                    (period.start, period.end))
        counts = dict(cur.fetchall())
        cur.execute(f"""
            select recon.order_number, orders.order_date, recon.reconciliation_status, recon.order_total,
                   recon.invoice_number, recon.invoice_total, recon.amount_difference
            {scope} and recon.reconciliation_status <> 'matched'
            order by orders.order_date desc, recon.order_number
            limit 50
        """, (period.start, period.end))
        keys = ("order_number", "order_date", "status", "order_total", "invoice_number", "invoice_total",
                "difference")
        return {"counts": counts, "problems": [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]}


def engagement(db: Database) -> dict | None:
    """Klaviyo engagement of the golden customers, all time (the mart keeps no dates per email)."""
    with db.cursor() as cur:
        if not _exists(cur, "fct_customer_engagement"):
            return None
        cur.execute(f"""
            select
                count(*) filter (where has_klaviyo_profile),
                count(*) filter (where can_receive_email_marketing),
                count(*) filter (where is_suppressed),
                coalesce(sum(emails_received), 0),
                coalesce(sum(emails_opened), 0),
                coalesce(sum(emails_clicked), 0),
                coalesce(sum(placed_order_events), 0)
            from {_marts()}.fct_customer_engagement
        """)
        keys = ("profiles", "reachable", "suppressed", "received", "opened", "clicked", "placed_orders")
        out = {key: int(value) for key, value in zip(keys, cur.fetchone(), strict=True)}
    out["open_rate"] = 100.0 * out["opened"] / out["received"] if out["received"] else None
    out["click_rate"] = 100.0 * out["clicked"] / out["received"] if out["received"] else None
    return out
