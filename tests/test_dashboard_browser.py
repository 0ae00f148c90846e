"""The health dashboard in a real browser: Debian's chromium, driven by Playwright (never `playwright install`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from conftest import log_in

from flows.dashboard import DashboardServer, build_dashboard_app
from seamline.errors import SeamlineError

PREFIX = "dash_"
PASSWORD = "correct horse battery staple"
NOW = datetime(2024, 3, 6, 12, 0, tzinfo=timezone.utc)
SOURCES = ["woocommerce", "klaviyo", "xero", "lightspeed", "finale"]
# age of each source's last successful sync -> the tile colour it must show (2 h / 12 h thresholds)
AGES = {"woocommerce": (timedelta(minutes=30), "green"), "lightspeed": (timedelta(minutes=95), "green"),
        "klaviyo": (timedelta(hours=5), "yellow"), "xero": (timedelta(hours=20), "red"),
        "finale": (timedelta(days=3), "red")}
RGB = {"green": "rgb(46, 125, 50)", "yellow": "rgb(249, 168, 37)", "red": "rgb(198, 40, 40)"}


@pytest.fixture(scope="module")
def dashboard(database):
    from seamline.ops import ResourceRun, ensure_ops_schema, record_sync_runs

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)  # a run history of its own
        with database.cursor() as cur:
            cur.execute(f"drop schema if exists {PREFIX}ops cascade")
        ensure_ops_schema(database)
        for source, (age, _) in AGES.items():
            # six hourly runs before the last success, one of them with errors, for the charts
            for n in range(6, 0, -1):
                started = NOW - age - timedelta(hours=n)
                record_sync_runs(database, f"{source}-{n}", [ResourceRun(
                    source, "orders", started_at=started, finished_at=started + timedelta(seconds=2),
                    status="success", rows_loaded=10 * n, api_calls=20, errors=2 if n == 3 else 0)], "schedule")
            last = NOW - age - timedelta(seconds=2)
            record_sync_runs(database, f"{source}-0", [ResourceRun(
                source, "orders", started_at=last, finished_at=last + timedelta(seconds=2), status="success",
                rows_loaded=5, api_calls=4)], "schedule")
        with database.cursor() as cur:
            cur.execute(f"insert into {PREFIX}ops.manual_queue (flow_name, parameters, integration, error, needs) "
                        "values ('sync', '{}', 'xero', 'xero: refused', 'fix the credentials')")
        app = build_dashboard_app(database, password=PASSWORD, sources=SOURCES, clock=lambda: NOW)
        with DashboardServer(app, port=0) as server:
            yield server.url.rstrip("/")


def test_the_dashboard_shows_each_integration_in_its_freshness_colour(dashboard, browser):
    page = browser.new_page()
    log_in(page, dashboard, PASSWORD)
    assert page.url == f"{dashboard}/"
    tiles = page.locator(".tile")
    assert tiles.count() == 5
    for source, (_, colour) in AGES.items():
        tile = page.locator(f'.tile[data-integration="{source}"]')
        assert tile.get_attribute("data-freshness") == colour
        assert tile.evaluate("el => getComputedStyle(el).backgroundColor") == RGB[colour]
    assert "never" not in page.locator('.tile[data-integration="woocommerce"]').inner_text()

    chart = page.locator("svg#chart-rows")
    assert int(chart.get_attribute("data-points")) == 5 * 7
    assert chart.locator("polyline.series").count() == 5
    assert int(page.locator("svg#chart-errors").get_attribute("data-points")) == 35
    assert page.locator("#manual-queue-count").inner_text() == "1"
    assert page.locator("#conflict-count").inner_text() == "n/a"  # no review queue table yet
    assert page.locator('meta[http-equiv="refresh"]').count() == 1

    # the full history, 25 runs a page, newest first
    assert page.locator("#history tbody tr").count() == 25
    page.click("a[rel=next]")
    assert page.locator("#history tbody tr").count() == 35 - 25

    page.click("text=Log out")
    page.goto(f"{dashboard}/")
    assert "/login" in page.url  # the session ended
    page.close()


def test_the_dashboard_refuses_a_wrong_or_missing_password(dashboard, browser):
    page = browser.new_page()
    log_in(page, dashboard, "guess")
    assert "/login" in page.url and page.locator(".error").inner_text() == "Wrong password."
    page.goto(f"{dashboard}/")
    assert "/login" in page.url and page.locator(".tile").count() == 0
    page.close()

    r = httpx.get(f"{dashboard}/api/status")
    assert r.status_code == 401
    r = httpx.get(f"{dashboard}/", cookies={"seamline_session": "1.forged.0000"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = httpx.post(f"{dashboard}/login", data={"password": PASSWORD, "next": "//evil.example/"})
    assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
    status = httpx.get(f"{dashboard}/api/status", cookies=r.cookies).json()
    assert [s["freshness"] for s in status] == ["green", "yellow", "red", "green", "red"]


def test_no_password_no_dashboard(database, monkeypatch):
    monkeypatch.delenv("SEAMLINE_DASHBOARD_PASSWORD", raising=False)
    with pytest.raises(SeamlineError, match="SEAMLINE_DASHBOARD_PASSWORD is not set"):
        build_dashboard_app(database)


def test_seamline_serve_starts_the_dashboard_only_with_a_password(database, monkeypatch, capsys):
    from flows.serve import start_dashboard

    monkeypatch.delenv("SEAMLINE_DASHBOARD_PASSWORD", raising=False)
    assert start_dashboard(0) is None
    assert capsys.readouterr().err == ("seamline: dashboard not started: SEAMLINE_DASHBOARD_PASSWORD is not set: "
                                       "the dashboard does not start without a password\n")
    monkeypatch.setenv("SEAMLINE_DASHBOARD_PASSWORD", PASSWORD)
    server = start_dashboard(0)
    try:
        assert httpx.get(f"{server.url}healthz").text == "ok"
        assert httpx.get(server.url).status_code == 303  # and the rest is behind the login
    finally:
        server.stop()


def test_wrong_passwords_are_throttled():
    from flows.dashboard.auth import LoginThrottle

    throttle = LoginThrottle(limit=2, window=60)
    throttle.failed()
    assert not throttle.blocked()
    throttle.failed()
    assert throttle.blocked()
