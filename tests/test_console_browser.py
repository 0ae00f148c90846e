"""The operator console in a real browser (Debian's chromium, driven by Playwright): resolve a
conflict, see the transform apply it, keep it across a full refresh and reopen it on a newer
source value; the metrics page against the sandbox world's own revenue; mappings; the login and
the decision form's defences. One small world, synced once, under a schema prefix of its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from conftest import log_in, rows, scalar, serve_world, timed
from test_dbt_lightspeed_finale import web_revenue_by_day

from flows.dashboard import DashboardServer, build_dashboard_app
from sandbox.world import DEFAULT_START, World

PREFIX = "console_"
PASSWORD = "tomatoes are fruit"
SOURCES = ("woocommerce", "klaviyo", "xero", "lightspeed", "finale")
# the two values a customer's phone ties on (the same update time in two systems)
WEB_PHONE, KLAVIYO_PHONE = "0412 000 111", "+61412000222"
TIMINGS: dict[str, float] = {}


def make_a_phone_tie(world: World):
    """A person whose web account and Klaviyo profile changed at the same moment to different
    phones: last-write-wins cannot decide, so the field goes to review."""
    profiles = {p.email.strip().lower(): p for p in world.klaviyo.profiles.values()}
    customer = next(c for c in world.woocommerce.customers.values() if c.email.strip().lower() in profiles)
    profile = profiles[customer.email.strip().lower()]
    moment = (world.clock.now() - timedelta(minutes=30)).replace(microsecond=0)
    customer.phone, customer.modified = WEB_PHONE, moment
    profile.phone, profile.updated = KLAVIYO_PHONE, moment
    return customer


@pytest.fixture(scope="module")
def console(database):
    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from seamline.ops import ensure_ops_schema

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)  # a world, marts and decisions of its own
        with database.cursor() as cur:
            cur.execute("select nspname from pg_namespace where nspname like %s", (PREFIX + "%",))
            for (schema,) in cur.fetchall():
                cur.execute(f'drop schema "{schema}" cascade')
        ensure_ops_schema(database)
        world = World(seed=13, scale=60, start=DEFAULT_START)
        world.advance(12)
        customer = make_a_phone_tie(world)
        with serve_world(world):
            for name in SOURCES:
                result = timed(TIMINGS, f"sync {name}", sync_source, name, full_refresh=True, db=database)
                assert result.status == "success", (name, result.message)
            build = timed(TIMINGS, "dbt build", run_dbt, database, "build")
            assert build.success, build.failures
            app = build_dashboard_app(database, password=PASSWORD, sources=list(SOURCES))
            with DashboardServer(app, port=0) as server:
                yield {"url": server.url.rstrip("/"), "world": world, "customer": customer}
    print("\ntimings (s):", TIMINGS)


@pytest.fixture(scope="module")
def page(console, browser):
    page = browser.new_page()
    log_in(page, console["url"], PASSWORD)
    yield page
    page.close()


def session(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base)
    assert client.post("/login", data={"password": PASSWORD}).status_code == 303
    return client


def email_of(console) -> str:
    return console["customer"].email.strip().lower()


def golden_phone(db, console) -> str:
    return scalar(db, f"select phone from {PREFIX}marts.dim_customers where email = %s", email_of(console))


def decisions_made(db) -> int:
    return scalar(db, f"select count(*) from {PREFIX}ops.conflict_decisions") if scalar(
        db, "select to_regclass(%s) is not null", f"{PREFIX}ops.conflict_decisions") else 0


def test_no_console_page_without_the_password(console, database):
    base = console["url"]
    for path in ("/review", "/mappings", "/metrics?from=2026-10-01"):
        r = httpx.get(base + path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = httpx.post(base + "/review/decide", data={"review_key": "x", "choice": "typed", "typed": "0412000999"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert decisions_made(database) == 0


def test_the_metrics_page_shows_the_worlds_revenue_for_a_day(console, page):
    world = console["world"]
    web = web_revenue_by_day(world)
    shops = world.lightspeed.revenue_by_day_outlet(tax_inclusive=True)
    outlets = sorted({outlet for _, outlet in shops})
    # the latest day with web orders and sales in every shop
    day = max(d for d in web if all((d, o) in shops for o in outlets))
    page.goto(f"{console['url']}/metrics?from={day}&to={day}")
    assert page.locator("#revenue tbody tr").count() == 1  # the date range holds
    row = page.locator(f'#revenue tr[data-day="{day}"]')
    assert row.locator('td[data-channel="web"]').inner_text() == f"{web[day]:.2f}"
    for outlet in outlets:
        assert row.locator(f'td[data-channel="{outlet}"]').inner_text() == f"{shops[(day, outlet)]:.2f}"
    total = web[day] + sum(shops[(day, o)] for o in outlets)
    assert row.locator('td[data-channel="total"]').inner_text() == f"{total:.2f}"
    # charts, not tables alone: one bar per channel that sold that day
    assert page.locator("svg#chart-revenue rect.bar").count() == 1 + len(outlets)
    assert int(page.locator("svg#chart-products").get_attribute("data-bars")) > 0
    for chart in ("chart-stock", "chart-invoices", "chart-engagement"):
        assert page.locator(f"svg#{chart}").count() == 1, chart
    # the summary's revenue is the day's, to the cent
    assert page.locator('#summary tr[data-channel="all channels"] .revenue').inner_text() == f"{total:,.2f}"


def test_a_forged_request_or_an_invalid_value_is_rejected(console, page, database):
    base = console["url"]
    page.goto(f"{base}/review")
    item = page.locator('article.conflict[data-field="phone"]')
    assert item.count() == 1
    review_key = item.get_attribute("data-review-key")
    # a phone that cannot be normalised, typed in the page
    item.locator('input[name="choice"][value="typed"]').check()
    item.locator('input[name="typed"]').fill("12 34")
    item.locator('input[name="decided_by"]').fill("Sam")
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    assert "is not a phone number" in page.locator("#decision-error").inner_text()
    assert decisions_made(database) == 0

    client = session(base)
    form = {"review_key": review_key, "choice": "typed", "typed": "0412 000 999", "decided_by": "Mallory",
            "newest_source_at": item.locator('input[name="newest_source_at"]').input_value()}
    # no token, a made-up one, and another session's real one
    for token in ("", "forged", page.locator('input[name="csrf"]').first.input_value()):
        r = client.post("/review/decide", data={**form, "csrf": token})
        assert r.status_code == 403 and "nothing was recorded" in r.text
    # a value no source holds, smuggled in as a pick rather than typed
    own_token = client.get("/review").text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post("/review/decide", data={**form, "csrf": own_token, "choice": "+61499999999"})
    assert r.status_code == 400 and "not one of the competing values" in r.text
    r = client.post("/review/decide", data={**form, "csrf": own_token, "typed": "not an email"})
    assert r.status_code == 400
    assert decisions_made(database) == 0
    client.close()


def test_a_conflict_resolved_in_the_page_is_applied_by_the_transform(console, page, database):
    from flows.dbt import run_dbt

    assert golden_phone(database, console) in ("+61412000111", KLAVIYO_PHONE)  # provisional, one of the two
    page.goto(f"{console['url']}/review")
    item = page.locator('article.conflict[data-field="phone"]')
    review_key = item.get_attribute("data-review-key")
    values = item.locator("table.candidates td.value").all_inner_texts()
    assert "+61412000111" in values and KLAVIYO_PHONE in values
    item.locator('input[name="choice"][value="typed"]').check()
    item.locator('input[name="typed"]').fill("(04) 1200 0999")
    item.locator('input[name="decided_by"]').fill("Sam Operator")
    item.locator('input[name="note"]').fill("rang her: neither number is current")
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    assert page.locator("#decision-recorded").count() == 1
    assert page.locator(f"#pending-{review_key}").count() == 1  # decided, waiting for the transform
    assert rows(database, f"select entity, field, chosen_value, chosen_source, decided_by, note "
                          f"from {PREFIX}ops.conflict_decisions") == [
        ("customer", "phone", "+61412000999", None, "Sam Operator", "rang her: neither number is current")]

    build = timed(TIMINGS, "dbt build (decisions)", run_dbt, database, "build", "--select", "source:ops+")
    assert build.success, build.failures
    assert golden_phone(database, console) == "+61412000999"
    assert scalar(database, f"select count(*) from {PREFIX}marts.review_queue where review_key = %s", review_key) == 0
    page.goto(f"{console['url']}/review")
    assert page.locator(f"#item-{review_key}").count() == 0
    decision = page.locator("#decisions tbody tr").first
    assert decision.get_attribute("data-status") == "applied"
    assert decision.locator("td.golden").inner_text() == "+61412000999"  # the golden record took it


def test_a_decision_survives_a_full_refresh(console, database):
    from flows.dbt import run_dbt

    build = timed(TIMINGS, "dbt build --full-refresh (decisions)", run_dbt, database, "build", "--full-refresh",
                  "--select", "source:ops+")
    assert build.success, build.failures
    assert golden_phone(database, console) == "+61412000999"
    assert rows(database, f"""
        select winning_source, rule_applied, decision_status, decisions_made from {PREFIX}marts.golden_field_audit
        where field = 'phone' and decision_id is not null
    """) == [("operator", "operator decision", "applied", 1)]


def test_a_newer_source_value_reopens_the_decision(console, page, database, monkeypatch):
    from flows.dbt import run_dbt
    from ingest.sync import sync_source

    world, customer = console["world"], console["customer"]
    world.advance(1)
    customer.phone, customer.modified = "0412 000 333", world.clock.now()  # they changed it on the web store
    # an account edit without an order reaches the sync that runs the customers' full scan
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__CUSTOMERS_FULL_SCAN_HOURS", "0")
    with serve_world(world):
        result = timed(TIMINGS, "sync woocommerce (incremental)", sync_source, "woocommerce", db=database)
    assert result.status == "success", result.message
    # new raw data: the whole build (identity and survivorship are tables built from it)
    build = timed(TIMINGS, "dbt build (reopen)", run_dbt, database, "build")
    assert build.success, build.failures
    # the new value is not silently overridden, and the decision is back in the queue
    assert golden_phone(database, console) == "+61412000333"
    assert rows(database, f"""
        select review_reason, provisional_value, outdated_decided_value, outdated_decided_by
        from {PREFIX}marts.review_queue where field = 'phone'
    """) == [("decision_outdated", "+61412000333", "+61412000999", "Sam Operator")]
    assert scalar(database, f"select decision_status from {PREFIX}marts.golden_field_audit "
                            "where decision_id is not null") == "outdated"
    page.goto(f"{console['url']}/review")
    item = page.locator('article.conflict[data-field="phone"]')
    assert item.locator(".reason").inner_text() == "decision outdated"
    assert "Sam Operator chose +61412000999" in item.inner_text()


def test_the_mappings_page_shows_each_seed_and_what_is_unmapped(console, page, database):
    from flows.dashboard.mappings import seed_names
    from seamline import settings

    base = console["url"]
    page.goto(f"{base}/mappings")
    assert page.locator("#unmapped-empty").count() == 1
    for name in seed_names():
        lines = (settings.seeds_dir() / f"{name}.csv").read_text().strip().splitlines()
        assert page.locator(f"#seed-{name}").get_attribute("data-rows") == str(len(lines) - 1), name
    # a status no seed knows arrives: it shows at once (the model is a view over staging)
    order_id = scalar(database, f"select min(id) from {PREFIX}raw_woocommerce.orders")
    status = scalar(database, f"select status from {PREFIX}raw_woocommerce.orders where id = %s", order_id)
    with database.cursor() as cur:
        cur.execute(f"update {PREFIX}raw_woocommerce.orders set status = 'awaiting-pickup' where id = %s", (order_id,))
    try:
        page.goto(f"{base}/mappings")
        row = page.locator('#unmapped tr[data-mapping="status_map:order"]')
        assert row.locator("td").all_inner_texts() == [
            "status_map:order", "woocommerce", "awaiting-pickup", "1", f"order:{order_id}"]
    finally:
        with database.cursor() as cur:
            cur.execute(f"update {PREFIX}raw_woocommerce.orders set status = %s where id = %s", (status, order_id))


def test_values_are_normalised_or_refused_per_field():
    from flows.dashboard.decisions import InvalidDecision, normalise_value

    assert normalise_value("customer", "email", "  Jane.Smith@Example.COM ") == "jane.smith@example.com"
    assert normalise_value("customer", "phone", "+61 412 345 678") == "+61412345678"
    assert normalise_value("product", "unit_size", "2.50") == "2.5"
    assert normalise_value("product", "is_taxable", "No") == "false"
    for entity, field, value in (("customer", "email", "jane@"), ("customer", "email", "jane smith@x.com"),
                                 ("customer", "phone", "call me"), ("customer", "first_name", "  "),
                                 ("product", "unit", "bushel"), ("product", "unit_size", "-1"),
                                 ("product", "is_taxable", "maybe"), ("customer", "password", "x")):
        with pytest.raises(InvalidDecision):
            normalise_value(entity, field, value)
    assert Decimal(normalise_value("product", "unit_size", "0.250")) == Decimal("0.25")
