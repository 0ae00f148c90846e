"""The GX quality layer against a real (embedded) Postgres: clean data scores 100, each kind of
corruption fails exactly the expectations meant to catch it, and missing marts do not crash a run."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import scalar

from seamline import settings

# A schema prefix of its own: other modules land other integrations in the shared session database,
# and a quality run scores every integration that has landed.
PREFIX = "quality_"
RAW = PREFIX + settings.raw_schema("woocommerce")
MARTS = PREFIX + settings.schema("marts")
OPS = PREFIX + settings.schema(settings.OPS)
RUN_PREFIX = "test-quality-"

_DDL = f"""
drop schema if exists {RAW} cascade;
drop schema if exists {MARTS} cascade;
create schema {RAW};
create schema {MARTS};
create table {RAW}.orders (
    id bigint, number text, status text, currency text,
    total numeric, total_tax numeric, shipping_total numeric, discount_total numeric,
    billing__email text, date_created_gmt timestamptz, date_modified_gmt timestamptz,
    customer_id bigint, is_deleted boolean, _dlt_load_id text not null, _dlt_id text not null
);
create table {RAW}.orders__line_items (
    id bigint, product_id bigint, sku text, name text, quantity bigint, price numeric,
    subtotal numeric, total numeric, total_tax numeric,
    _dlt_parent_id text not null, _dlt_root_id text not null, _dlt_id text not null
);
create table {RAW}.customers (
    id bigint, email text, first_name text, last_name text, date_modified_gmt timestamptz
);
create table {RAW}._dlt_loads (
    load_id text not null, schema_name text, status bigint not null, inserted_at timestamptz not null
);
create table {MARTS}.fct_orders (
    order_key text, channel text, source_system text, order_id text, order_number text,
    customer_email text, order_status text, currency text,
    items_total numeric(18,2), shipping_total numeric(18,2), tax_total numeric(18,2),
    discount_total numeric(18,2), order_total numeric(18,2), line_count int,
    ordered_at timestamptz, updated_at timestamptz, is_deleted boolean
);
"""

NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)

# (id, status, total, total_tax, shipping, discount, email, created, modified, customer_id, is_deleted)
# WooCommerce arithmetic: total = line totals + shipping + all tax (line tax + shipping tax).
ORDERS = [
    (1001, "completed", "40.80", "3.71", "9.09", "2.00", " Ann@Example.com ",
     NOW - 3 * DAY, NOW - 2 * DAY, 501, None),
    (1002, "processing", "99.00", "9.00", "0.00", "0.00", "guest@example.org",
     NOW - 5 * HOUR, NOW - 5 * HOUR, 0, False),
    (1003, "trash", "21.00", "1.91", "9.09", "0.00", "bo@example.com",
     NOW - 4 * DAY, NOW - DAY, 502, True),
    (1004, "cancelled", "15.50", "1.41", "9.09", "0.00", "bo@example.com",
     NOW - 3 * DAY, NOW - 3 * DAY + HOUR, 502, True),
    # landed by a load dlt has not finished: no marts row yet, and no check may count it
    (1005, "processing", "11.00", "1.00", "0.00", "0.00", "bo@example.com",
     NOW - HOUR, NOW - HOUR, 502, False),
]
UNFINISHED_LOAD_ORDERS = {1005}
# (id, order_id, product_id, sku, quantity, price, subtotal, total, total_tax)
LINES = [
    (11, 1001, 7, "APL-1", 2, "5.00", "10.00", "10.00", "1.00"),
    (12, 1001, 8, "BRD-1", 1, "20.00", "20.00", "18.00", "1.80"),
    (13, 1002, 9, "BOX-1", 3, "30.00", "90.00", "90.00", "9.00"),
    (14, 1003, 7, "APL-1", 1, "10.00", "10.00", "10.00", "1.00"),
    (15, 1004, 8, "BRD-1", 1, "5.00", "5.00", "5.00", "0.50"),
    (16, 1005, 9, "BOX-1", 1, "10.00", "10.00", "10.00", "1.00"),
]
CUSTOMERS = [(501, "ann@example.com", "Ann", "Lee"), (502, "bo@example.com", "Bo", "Tran")]
# dbt's view of the same orders: trashed and deleted ones kept and flagged, the unfinished load
# not yet there; plus a point-of-sale order with no email, which must not count against WooCommerce.
FCT_ORDERS = [
    ("woocommerce:1001", "web", "woocommerce", 1001, "1001", "ann@example.com", "completed", "AUD",
     "28.00", "9.09", "3.71", "2.00", "40.80", 2, NOW - 3 * DAY, NOW - 2 * DAY, False),
    ("woocommerce:1002", "web", "woocommerce", 1002, "1002", "guest@example.org", "processing", "AUD",
     "90.00", "0.00", "9.00", "0.00", "99.00", 1, NOW - 5 * HOUR, NOW - 5 * HOUR, False),
    ("woocommerce:1003", "web", "woocommerce", 1003, "1003", "bo@example.com", "deleted", "AUD",
     "10.00", "9.09", "1.91", "0.00", "21.00", 1, NOW - 4 * DAY, NOW - DAY, True),
    ("woocommerce:1004", "web", "woocommerce", 1004, "1004", "bo@example.com", "cancelled", "AUD",
     "5.00", "9.09", "1.41", "0.00", "15.50", 1, NOW - 3 * DAY, NOW - 3 * DAY + HOUR, True),
    ("lightspeed:77", "shop", "lightspeed", 77, "S-77", None, "completed", "AUD",
     "10.00", "0.00", "1.00", "0.00", "11.00", 1, NOW - DAY, NOW - DAY, False),
]

# What the WooCommerce suites hold, per dimension (raw orders, line items, customers, loads, marts slice),
# plus the volume expectation on its load history (accuracy).
TOTALS = {"completeness": 22, "validity": 25, "consistency": 10, "accuracy": 4, "timeliness": 2}


def seed(db) -> None:
    """A small, internally consistent WooCommerce load and its marts, from scratch."""
    with db.cursor(autocommit=False) as cur:
        cur.execute(_DDL)
        for oid, status, total, tax, ship, disc, email, created, modified, customer, deleted in ORDERS:
            load_id = "1700000009.1" if oid in UNFINISHED_LOAD_ORDERS else "1700000000.1"
            row = (oid, str(oid), status, "AUD", total, tax, ship, disc, email, created, modified, customer,
                   deleted, load_id, f"o{oid}")
            cur.execute(f"insert into {RAW}.orders values ({', '.join(['%s'] * len(row))})", row)
        for lid, oid, pid, sku, qty, price, subtotal, total, tax in LINES:
            parent = f"o{oid}"
            row = (lid, pid, sku, f"Item {sku}", qty, price, subtotal, total, tax, parent, parent, f"l{lid}")
            cur.execute(f"insert into {RAW}.orders__line_items values ({', '.join(['%s'] * len(row))})", row)
        for cid, email, first, last in CUSTOMERS:
            cur.execute(f"insert into {RAW}.customers values (%s, %s, %s, %s, %s)",
                        (cid, email, first, last, NOW - 10 * DAY))
        # the newest load is fresh for a 15-minute source (stale after an hour by default)
        cur.execute(f"insert into {RAW}._dlt_loads values ('1699990000.1', 'woocommerce', 0, %s),"
                    " ('1700000000.1', 'woocommerce', 0, %s)", (NOW - 2 * DAY, NOW - 5 * MINUTE))
        for row in FCT_ORDERS:
            cur.execute(f"insert into {MARTS}.fct_orders values ({', '.join(['%s'] * len(row))})", row)


@pytest.fixture(scope="module")
def quality(database, tmp_path_factory):
    """Run quality against seeded data; GX's file context goes to a temp dir, not the repo's."""
    from expectations import run_quality

    gx_dir = tmp_path_factory.mktemp("gx_project")

    def run(name: str):
        return run_quality(database, run_id=f"{RUN_PREFIX}{name}", project_dir=gx_dir)

    run.gx_dir = gx_dir / "gx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
        mp.delenv("SEAMLINE_ALERT_URLS", raising=False)
        yield run
    # Leave the session database as we found it
    with database.cursor() as cur:
        for schema in (RAW, MARTS, OPS):
            cur.execute(f"drop schema if exists {schema} cascade")


def _declared(gx_dir) -> dict[str, str]:
    """The GX config meant to be committed: everything outside uncommitted/."""
    return {str(p.relative_to(gx_dir)): p.read_text() for p in sorted(gx_dir.rglob("*"))
            if p.is_file() and "uncommitted" not in p.parts}


def _scores(db, run_id: str) -> dict[str, tuple[int, int, float]]:
    with db.cursor() as cur:
        cur.execute(f"select dimension, passed, total, score from {OPS}.quality_scores"
                    " where run_id = %s and integration = 'woocommerce'", (run_id,))
        return {d: (p, t, float(s)) for d, p, t, s in cur.fetchall()}


def test_clean_data_scores_100_everywhere(database, quality):
    seed(database)
    result = quality("clean")

    assert result.failed == [], [o.details for o in result.outcomes if not o.success]
    assert result.scores == {"woocommerce": 100.0}
    assert result.dimension_scores == {("woocommerce", d): 100.0 for d in TOTALS}
    assert len(result.outcomes) == sum(TOTALS.values())
    assert result.data_docs_path.name == "index.html" and result.data_docs_path.is_file()
    assert _scores(database, result.run_id) == {
        **{d: (n, n, 100.0) for d, n in TOTALS.items()},
        "overall": (sum(TOTALS.values()),) * 2 + (100.0,),
    }
    with database.cursor() as cur:
        cur.execute(f"select count(*), count(*) filter (where success), count(distinct suite)"
                    f" from {OPS}.quality_results where run_id = %s", (result.run_id,))
        assert cur.fetchone() == (sum(TOTALS.values()), sum(TOTALS.values()), 6)
    # the other integrations never landed under this prefix: skipped, and said so, not scored
    assert set(result.skipped) == {"klaviyo", "xero", "lightspeed", "finale"}
    assert all("has not landed" in reason for reason in result.skipped.values())
    assert result.alerts_opened == []


def test_corruptions_fail_exactly_their_expectations(database, quality):
    seed(database)
    with database.cursor() as cur:
        cur.execute(f"update {RAW}.orders set billing__email = null where id = 1002")
        cur.execute(f"update {RAW}.orders__line_items set quantity = -1 where id = 12")
        cur.execute(f"update {RAW}.orders set total = total + 5 where id = 1001")  # no longer adds up
        cur.execute(f"update {RAW}._dlt_loads set inserted_at = now() - interval '48 hours'")
    declared = _declared(quality.gx_dir)
    result = quality("corrupt")
    # same suites, same checkpoints (one per integration, declared whether it has landed or not):
    # a run leaves the committed GX config byte for byte as it was
    assert _declared(quality.gx_dir) == declared
    assert {f"checkpoints/seamline_quality_{name}.json" for name in settings.SOURCES} <= set(declared)

    sql_check = "unexpected_rows_expectation"
    assert sorted(result.failed) == sorted([
        ("woocommerce", "woocommerce.raw.orders", "expect_column_values_to_not_be_null",
         "billing__email", "completeness"),
        ("woocommerce", "woocommerce.raw.orders__line_items", "expect_column_values_to_be_between",
         "quantity", "validity"),
        ("woocommerce", "woocommerce.raw.orders", sql_check, "total", "consistency"),
        # the raw total no longer matches the marts: revenue differs, and so does order 1001
        ("woocommerce", "marts.fct_orders.woocommerce", sql_check, "order_total", "accuracy"),
        ("woocommerce", "marts.fct_orders.woocommerce", sql_check, "order_id", "accuracy"),
        ("woocommerce", "woocommerce.raw._dlt_loads", sql_check, "inserted_at", "timeliness"),
    ])
    expected = {"completeness": 100 * 21 / 22, "validity": 96.0, "consistency": 90.0,
                "accuracy": 50.0, "timeliness": 50.0}
    assert result.dimension_scores == pytest.approx({("woocommerce", d): s for d, s in expected.items()})
    overall = sum(expected.values()) / 5  # equal weights
    assert result.scores == pytest.approx({"woocommerce": overall})

    stored = _scores(database, result.run_id)
    assert stored["overall"] == (sum(TOTALS.values()) - 6, sum(TOTALS.values()), round(overall, 2))
    assert stored["timeliness"] == (1, 2, 50.0)
    # under 90 and down more than 10 points from the clean run: one alert, through ops.alerts
    assert result.alerts_opened == ["quality_drop:woocommerce"]
    assert scalar(database, f"select count(*) from {OPS}.alerts where incident_key = 'quality_drop:woocommerce' "
                            "and resolved_at is null") == 1
    with database.cursor() as cur:
        cur.execute(f"select unexpected_count, observed from {OPS}.quality_results where run_id = %s"
                    " and column_name = 'quantity' and not success", (result.run_id,))
        unexpected, observed = cur.fetchone()
    assert unexpected == 1 and observed["sample"] == [-1]


def test_missing_marts_are_failed_with_a_reason_not_a_crash(database, quality):
    seed(database)
    with database.cursor() as cur:
        cur.execute(f"drop schema {MARTS} cascade")
    result = quality("no-marts")

    marts_outcomes = [o for o in result.outcomes if o.suite == "marts.fct_orders.woocommerce"]
    assert len(marts_outcomes) == 23  # 6 completeness, 10 validity, 3 consistency, 3 accuracy, 1 timeliness
    assert all(not o.success and "does not exist" in o.details for o in marts_outcomes)
    assert {f[1] for f in result.failed} == {"marts.fct_orders.woocommerce"}
    assert result.dimension_scores == pytest.approx({
        ("woocommerce", "completeness"): 100 * 16 / 22, ("woocommerce", "validity"): 100 * 15 / 25,
        ("woocommerce", "consistency"): 70.0, ("woocommerce", "accuracy"): 25.0,  # only volume passes
        ("woocommerce", "timeliness"): 50.0,
    })
    assert result.data_docs_path.is_file()


def test_data_docs_rebuild_without_validating(database, quality):
    from expectations import build_data_docs, data_docs_dir

    index = build_data_docs(database, project_dir=quality.gx_dir.parent)
    assert index == data_docs_dir(quality.gx_dir.parent) / "index.html" and index.is_file()
    assert "woocommerce.raw.orders" in index.read_text()


def test_unreachable_database_raises():
    from expectations import run_quality
    from seamline.database import Database
    from seamline.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable):
        run_quality(Database("postgresql://postgres:x@127.0.0.1:9/postgres"))


def test_overall_score_renormalises_over_present_dimensions():
    from expectations.scoring import overall_score

    assert overall_score({"completeness": 100.0, "validity": 50.0}) == 75.0
    assert overall_score({"accuracy": 40.0}, weights={"accuracy": 0.5, "timeliness": 0.5}) == 40.0
    weights = {"accuracy": 3, "timeliness": 1}
    assert overall_score({"accuracy": 40.0, "timeliness": 100.0}, weights=weights) == 55.0


def test_freshness_threshold_comes_from_the_environment(monkeypatch):
    from expectations.freshness import freshness_hours
    from expectations.suites import woocommerce

    # by default four times the source's schedule: 15 min for the web shop and the tills, hourly otherwise
    assert [freshness_hours(name) for name in settings.SOURCES] == [1.0, 4.0, 4.0, 1.0, 4.0]

    monkeypatch.setenv("SEAMLINE_FRESHNESS_HOURS__WOOCOMMERCE", "6")
    (check,) = woocommerce.loads().expectations
    assert "interval '1 hour' * 6.0" in check.unexpected_rows_query
    assert check.meta == {"dimension": "timeliness", "integration": "woocommerce", "column": "inserted_at"}


def test_retention_keeps_the_newest_runs(tmp_path):
    from expectations.retention import prune

    roots = [tmp_path / "uncommitted" / "validations" / "woocommerce" / "raw" / "orders",
             tmp_path / "uncommitted" / "data_docs" / "local_site" / "validations" / "woocommerce" / "raw"]
    times = [f"2026010{d}T000000.000000Z" for d in range(1, 6)]
    for root in roots:
        for i, t in enumerate(times):
            (root / f"run{i}" / t).mkdir(parents=True)
            (root / f"run{i}" / t / "result.json").write_text("{}")

    assert prune(tmp_path, keep=2) == 6
    for root in roots:
        assert sorted(p.name for p in root.iterdir()) == ["run3", "run4"]


def test_volume_rule_flags_only_a_drop_well_below_the_recent_median(monkeypatch):
    from expectations.volume import VolumeRule, assess

    rule = VolumeRule()  # k 3, window 10, at least 5 earlier loads, floors 10 % of the median and 1 row
    history = [100, 96, 104, 99, 101, 5000, 98]  # one full reload in the history barely matters
    normal = assess("xero", "invoices", 90, history, rule)
    assert (normal.median, normal.mad) == (100.0, 2.0)
    # spread = max(1.4826 x 2, 10 % of 100, 1) = 10: flagged below 100 - 3 x 10
    assert normal.threshold == pytest.approx(70.0) and not normal.anomalous
    assert assess("xero", "invoices", 69, history, rule).anomalous
    assert not assess("xero", "invoices", 9000, history, rule).anomalous  # a burst is not a loss
    assert assess("xero", "invoices", 0, history[:4], rule).threshold is None  # too little history
    assert not assess("xero", "invoices", 0, [0, 0, 0, 0, 0, 3], rule).anomalous  # a mostly idle resource
    # identical loads (a snapshot replaced whole): MAD 0, the 10 % floor decides: below 70 % of usual
    assert assess("finale", "inventory_items", 69, [100] * 6, rule).anomalous
    assert not assess("finale", "inventory_items", 70, [100] * 6, rule).anomalous

    monkeypatch.setenv("SEAMLINE_VOLUME_K", "5")
    monkeypatch.setenv("SEAMLINE_VOLUME_MIN_HISTORY__FINALE", "2")
    assert VolumeRule.for_source("xero") == VolumeRule(k=5.0)
    assert VolumeRule.for_source("finale") == VolumeRule(k=5.0, min_history=2)


def test_quality_drop_thresholds_default_and_per_source(monkeypatch):
    from expectations.alerting import drop_message

    assert drop_message("xero", 89.9, None) == "xero: quality score 89.9 (under the 90 floor)"
    assert drop_message("xero", 95.0, 100.0) is None  # five points down, still above 90
    assert "down 10.0 points from 100.0" in drop_message("xero", 90.0, 100.0)
    assert drop_message("xero", 97.0, 97.5) is None
    monkeypatch.setenv("SEAMLINE_QUALITY_ALERT_DROP__XERO", "0.5")
    monkeypatch.setenv("SEAMLINE_QUALITY_ALERT_BELOW", "98")
    assert "down 0.5 points" in drop_message("xero", 97.0, 97.5)
    assert drop_message("klaviyo", 97.0, 97.5) == "klaviyo: quality score 97.0 (under the 98 floor)"
