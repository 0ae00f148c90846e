"""The operator console's pages, beside the health page and behind the same login:

    /review     the open conflicts of the review queue; a decision form per conflict
    /mappings   each mapping seed and the source values no seed maps right now
    /metrics    the business metrics the marts feed, over a date range

Forms are plain HTML (the CSP allows no script). The decision form carries a per-session CSRF
token, and a decision is written only when its value is valid for the field.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, quote

import psycopg2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from flows.dashboard import decisions, mappings, metrics
from flows.dashboard.auth import COOKIE, Sessions
from flows.dashboard.charts import bar_chart, hbar_chart
from seamline.database import Database

OPERATOR_COOKIE = "seamline_operator"  # the name the operator last decided under, to prefill the form
MAX_FORM_BYTES = 16_384


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form, parsed by hand (as the login form is): the first value of each field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def console_routes(db: Database, sessions: Sessions, page: Callable[..., Response]) -> list[Route]:
    def review_page(request: Request, status_code: int = 200, error: str | None = None,
                    form: dict | None = None) -> Response:
        token = request.cookies.get(COOKIE)
        decided = request.query_params.get("decided")
        return page("review.html", status_code=status_code, active="review",
                    items=decisions.open_conflicts(db), recent=decisions.recent_decisions(db),
                    csrf=sessions.csrf_token(token), operator=request.cookies.get(OPERATOR_COOKIE, ""),
                    decided=decided if (decided or "").isdigit() else None, error=error, form=form or {})

    def review(request: Request) -> Response:
        return review_page(request)

    async def decide(request: Request) -> Response:
        form = await _form(request)
        if not sessions.csrf_ok(request.cookies.get(COOKIE), form.get("csrf")):
            return review_page(request, 403, "This form was not issued to your session (a forged or stale "
                                             "request): nothing was recorded. Reload the page and decide again.")
        key = form.get("review_key", "")
        found = decisions.open_conflicts(db, review_key=key) if key else []
        if not found:
            return review_page(request, 409, "That conflict is no longer in the review queue: nothing was recorded.")
        item = found[0]
        if form.get("newest_source_at", "") != item["newest_source_at"].isoformat():
            return review_page(request, 409, "A source changed this field since the page was loaded: nothing was "
                                             "recorded. Look at the values again.")
        choice = decisions.Choice(choice=form.get("choice", ""), typed=form.get("typed", ""),
                                  decided_by=form.get("decided_by", ""), note=form.get("note", ""))
        try:
            decision_id = decisions.record_decision(db, item, choice, decisions.base_units(db))
        except decisions.InvalidDecision as exc:
            return review_page(request, 400, f"Not recorded: {exc}.", form={**form, "review_key": key})
        response = RedirectResponse(f"/review?decided={decision_id}#item-{quote(key)}", status_code=303)
        response.set_cookie(OPERATOR_COOKIE, " ".join(choice.decided_by.split()), max_age=90 * 86400,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    def mappings_page(request: Request) -> Response:
        try:
            unmapped, error = mappings.unmapped_values(db), None
        except psycopg2.Error as exc:  # a staging view it reads is gone (a source being reloaded)
            unmapped, error = None, str(exc).strip().splitlines()[0]
        return page("mappings.html", active="mappings", seeds=mappings.seeds(db), unmapped=unmapped,
                    unmapped_error=error)

    def metrics_page(request: Request) -> Response:
        period = metrics.date_range(db, request.query_params.get("from"), request.query_params.get("to"))
        if period is None:
            return page("metrics.html", active="metrics", period=None)
        revenue = metrics.revenue(db, period)
        names = revenue["channels"]
        days = [d.isoformat() for d in period.days]
        per_channel = {c: {d.isoformat(): float(v[c]) for d, v in revenue["by_day"].items() if c in v} for c in names}
        orders = {c: {d.isoformat(): float(v[c]) for d, v in revenue["orders_by_day"].items() if c in v}
                  for c in names}
        products = metrics.top_products(db, period)
        stock = metrics.low_stock(db)
        invoices = metrics.invoice_reconciliation(db, period)
        engagement = metrics.engagement(db)
        charts = {
            "revenue": bar_chart("chart-revenue", "Revenue per day by channel (AUD, GST incl.)", days, per_channel,
                                 names, unit=""),
            "orders": bar_chart("chart-orders", "Orders per day by channel", days, orders, names),
            "products": hbar_chart("chart-products", "Top products by sales (AUD, GST excl.)",
                                   [(f"{p['sku']} {p['product_name'] or ''}", float(p["sales"])) for p in products]),
            "stock": hbar_chart("chart-stock", "SKUs below their reorder point, per location",
                                list(stock["per_location"].items())) if stock else None,
            "invoices": hbar_chart("chart-invoices", "Web orders by invoice status",
                                   sorted(invoices["counts"].items())) if invoices else None,
            "engagement": hbar_chart("chart-engagement", "Campaign emails (all time)", [
                ("received", engagement["received"]), ("opened", engagement["opened"]),
                ("clicked", engagement["clicked"])]) if engagement else None,
        }
        return page("metrics.html", active="metrics", period=period, revenue=revenue, products=products,
                    stock=stock, invoices=invoices, engagement=engagement,
                    legend=names,
                    charts={k: Markup(v) if v else None for k, v in charts.items()})  # built from escaped parts

    return [
        Route("/review", review, methods=["GET"]),
        Route("/review/decide", decide, methods=["POST"]),
        Route("/mappings", mappings_page),
        Route("/metrics", metrics_page),
    ]
