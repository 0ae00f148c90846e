"""The health dashboard and the operator console (flows/dashboard/console.py): an ASGI (Starlette)
app behind one password.

    app = build_dashboard_app(db)      # raises SeamlineError without SEAMLINE_DASHBOARD_PASSWORD

Pages are rendered on the server and reload themselves (meta refresh), so the page needs no
JavaScript; charts are inline SVG. Database calls run in Starlette's thread pool (sync endpoints).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.dashboard import data
from flows.dashboard.auth import COOKIE, LoginThrottle, RequireLogin, Sessions, configured_password, safe_next
from flows.dashboard.charts import line_chart
from flows.dashboard.console import console_routes
from flows.status import age_text, integration_status
from seamline.database import Database
from seamline.errors import SeamlineError

HERE = Path(__file__).resolve().parent
CHART_DAYS = 7
# no scripts at all, nothing from elsewhere, never framed
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def prefect_ui_url() -> str | None:
    """PREFECT_UI_URL, or the UI next to PREFECT_API_URL (.../api -> ...)."""
    explicit = os.environ.get("PREFECT_UI_URL", "").strip()
    if explicit:
        return explicit
    api = os.environ.get("PREFECT_API_URL", "").strip().rstrip("/")
    return api.removesuffix("/api") if api else None


def _docs_dirs() -> dict[str, Path]:
    from expectations import data_docs_dir
    from flows.dbt import target_dir

    return {"dbt": target_dir(), "gx": data_docs_dir()}


def build_dashboard_app(db: Database, *, password: str | None = None, sources: list[str] | None = None,
                        clock: Callable[[], datetime] | None = None, specs: list[dict] | None = None,
                        refresh_seconds: int | None = None) -> Starlette:
    """The dashboard app; `sources`, `clock` and `specs` are for tests (default: installed sources,
    the real time, prefect.yaml)."""
    sessions = Sessions(configured_password(password))
    throttle = LoginThrottle()
    if sources is None:
        from ingest.pipeline import available_sources

        sources = list(available_sources())
    clock = clock or (lambda: datetime.now(timezone.utc))
    refresh = refresh_seconds or int(os.environ.get("SEAMLINE_DASHBOARD_REFRESH_SECONDS", "30"))
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
    templates.globals.update(age_text=age_text)
    docs = _docs_dirs()

    def page(name: str, status_code: int = 200, **context) -> HTMLResponse:
        body = templates.get_template(name).render(**context)
        return HTMLResponse(body, status_code=status_code, headers={
            "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin"})

    def login_form(request: Request) -> Response:
        if sessions.valid(request.cookies.get(COOKIE)):
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        return page("login.html", next=safe_next(request.query_params.get("next")), error=None)

    async def login(request: Request) -> Response:
        # a urlencoded form, parsed by hand: no python-multipart dependency for one field
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        target = safe_next((form.get("next") or ["/"])[0])
        if throttle.blocked():
            return page("login.html", status_code=429, next=target, error="Too many wrong passwords: wait a minute.")
        if not sessions.password_ok((form.get("password") or [""])[0]):
            throttle.failed()
            await asyncio.sleep(0.5)  # a wrong guess costs time
            return page("login.html", status_code=401, next=target, error="Wrong password.")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sessions.issue(), max_age=sessions.max_age, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        return response

    def logout(request: Request) -> Response:
        sessions.revoke(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def dashboard(request: Request) -> Response:
        now = clock()
        try:
            page_no = int(request.query_params.get("page", "1"))
        except ValueError:
            page_no = 1
        statuses = integration_status(db, now=now, sources=sources, specs=specs)
        series = data.chart_series(db, sources, now, CHART_DAYS)
        history, pages = data.sync_history(db, sources, now, page_no)
        page_no = min(max(page_no, 1), pages)
        charts = {
            "rows": line_chart("chart-rows", "Rows synced per run", series["rows"], sources),
            "error_rate": line_chart("chart-errors", "Error rate per run (% of API calls)", series["error_rate"],
                                     sources, unit="%", y_max=100 if _any_above(series["error_rate"], 10) else 10),
            "quality": line_chart("chart-quality", "Quality score (overall)", series["quality"], sources, y_max=100),
        }
        return page("dashboard.html", now=now, statuses=statuses, counts=data.open_counts(db), history=history,
                    page=page_no, pages=pages, refresh=refresh, chart_days=CHART_DAYS,
                    charts={k: Markup(v) for k, v in charts.items()},  # built from escaped parts
                    legend=sources, links=_links(docs))

    def status_json(request: Request) -> Response:
        return JSONResponse(integration_status(db, now=clock(), sources=sources, specs=specs))

    def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/", dashboard),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/status", status_json),
        Route("/healthz", healthz),
        *console_routes(db, sessions, page),  # review queue, mappings, metrics
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        # the docs sites, behind the same login
        Mount("/docs/dbt", StaticFiles(directory=docs["dbt"], html=True, check_dir=False)),
        Mount("/docs/gx", StaticFiles(directory=docs["gx"], html=True, check_dir=False)),
    ]
    app = Starlette(routes=routes, exception_handlers={SeamlineError: unavailable})
    app.add_middleware(RequireLogin, sessions=sessions)
    return app


def unavailable(request: Request, exc: Exception) -> Response:
    """The database is down or refused us: say so in one line; the page retries on its own."""
    return PlainTextResponse(f"Seamline dashboard: {exc}", status_code=503, headers={"Retry-After": "30"})


def _any_above(series: dict[str, list], limit: float) -> bool:
    return any(v > limit for values in series.values() for _, v in values)


def _links(docs: dict[str, Path]) -> list[dict]:
    prefect = prefect_ui_url()
    return [
        {"name": "Prefect UI", "href": prefect, "hint": "set PREFECT_API_URL"},
        {"name": "dbt docs", "href": "/docs/dbt/" if (docs["dbt"] / "index.html").exists() else None,
         "hint": "not built yet (make docs)"},
        {"name": "Data Docs", "href": "/docs/gx/" if (docs["gx"] / "index.html").exists() else None,
         "hint": "not built yet (seamline quality)"},
    ]
