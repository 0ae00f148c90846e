"""Quality against the real thing: a sandbox world served over HTTP, real dlt syncs of all five
sources, a real dbt build of the marts, the real GX checkpoints, embedded Postgres.

One scenario, run once for the module under its own schema prefix (its own raw, marts and ops):

- before:   only WooCommerce has landed; the other four are skipped, not scored;
- clean:    all five landed: every suite passes, every score is 100, no alert;
- faults:   Klaviyo, Xero, Lightspeed and Finale re-synced from scratch with the sandbox's
            `bad_data` fault on, WooCommerce gone stale (its loads moved two hours back) and a
            sudden drop in Lightspeed's sales volume (a seeded run history in ops.sync_runs):
            exactly the expected expectations fail, scores drop by the amounts the suite sizes
            and weights give, and one alert per problem is opened;
- recovery: WooCommerce loads again and Lightspeed's volume is back: their alerts resolve, the
            bad-data ones stay open, none is duplicated.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import scalar, serve_world

from seamline import settings

PREFIX = "qfault_"
SOURCES = ("woocommerce", "klaviyo", "xero", "lightspeed", "finale")
BAD = ("klaviyo", "xero", "lightspeed", "finale")
DIMENSIONS = ("completeness", "validity", "consistency", "accuracy", "timeliness")

# Expectations per integration and dimension: the suites in expectations/suites plus the one
# volume expectation (accuracy) every landed integration gets. WooCommerce's include its marts slice.
SIZES = {
    "woocommerce": {"completeness": 22, "validity": 25, "consistency": 10, "accuracy": 4, "timeliness": 2},
    "klaviyo": {"completeness": 18, "validity": 11, "consistency": 11, "accuracy": 4, "timeliness": 1},
    "xero": {"completeness": 26, "validity": 22, "consistency": 14, "accuracy": 3, "timeliness": 1},
    "lightspeed": {"completeness": 21, "validity": 12, "consistency": 10, "accuracy": 3, "timeliness": 1},
    "finale": {"completeness": 23, "validity": 15, "consistency": 9, "accuracy": 3, "timeliness": 1},
}

SQL = "unexpected_rows_expectation"
BETWEEN = "expect_column_values_to_be_between"
NOT_NULL = "expect_column_values_to_not_be_null"
VOLUME = "expect_load_volume_to_match_recent_loads"

# What each problem must fail, and nothing else: (integration, suite, expectation type, column, dimension)
BAD_DATA_FAILURES = {
    "klaviyo": [
        # profiles without an email (Klaviyo markets by email: required here)
        ("klaviyo", "klaviyo.raw.profiles", NOT_NULL, "email", "completeness"),
        # Placed Order items with a negative quantity: invalid, and the row total no longer fits
        ("klaviyo", "klaviyo.raw.events__event_properties__items", BETWEEN, "quantity", "validity"),
        ("klaviyo", "klaviyo.raw.events__event_properties__items", SQL, "row_total", "consistency"),
        # a value that is not the WooCommerce order's total
        ("klaviyo", "klaviyo.raw.events.vs_woocommerce", SQL, "event_properties___value", "accuracy"),
    ],
    "xero": [
        ("xero", "xero.raw.contacts", SQL, "email_address", "completeness"),
        # total = sub_total + total_tax broken; on a live invoice paid + due no longer add up either
        ("xero", "xero.raw.invoices", SQL, "total", "consistency"),
        ("xero", "xero.raw.invoices", SQL, "amount_due", "consistency"),
        # a negative line quantity: invalid, and quantity x unit amount no longer gives the line amount
        ("xero", "xero.raw.invoices__line_items", BETWEEN, "quantity", "validity"),
        ("xero", "xero.raw.invoices__line_items", SQL, "line_amount", "consistency"),
    ],
    "lightspeed": [
        ("lightspeed", "lightspeed.raw.customers", SQL, "email", "completeness"),
        # a negative quantity on a line that is not a return
        ("lightspeed", "lightspeed.raw.sales__line_items", BETWEEN, "quantity", "validity"),
        # sale totals that do not add up to their lines (both kinds of corrupted sale) ...
        ("lightspeed", "lightspeed.raw.sales", SQL, "total_price", "consistency"),
        # ... and, for the inflated totals, a trading day whose sales exceed its payments
        ("lightspeed", "lightspeed.raw.sales", SQL, "total_price", "accuracy"),
    ],
    "finale": [
        ("finale", "finale.raw.suppliers", SQL, "contact_mech_list", "completeness"),
        ("finale", "finale.raw.inventory_items", BETWEEN, "quantity_on_hand", "validity"),
    ],
}
STALE_FAILURE = ("woocommerce", "woocommerce.raw._dlt_loads", SQL, "inserted_at", "timeliness")
VOLUME_FAILURE = ("lightspeed", "lightspeed.ops.sync_runs", VOLUME, "rows_loaded", "accuracy")
# Lightspeed's sales loads before the drop (newest last), and the drop
HISTORY = (38, 44, 41, 39, 43, 40, 42, 37)
DROPPED, RECOVERED = 3, 41


def expected_scores(failures) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Per-dimension and overall scores from the suite sizes and the failed expectations
    (equal dimension weights: the overall score is the mean of the five)."""
    from expectations.scoring import DIMENSION_WEIGHTS

    failed = Counter((f[0], f[4]) for f in failures)
    dimension = {(i, d): 100.0 * (n - failed[(i, d)]) / n for i, sizes in SIZES.items() for d, n in sizes.items()}
    weights = sum(DIMENSION_WEIGHTS.values())
    overall = {i: sum(dimension[(i, d)] * DIMENSION_WEIGHTS[d] for d in DIMENSIONS) / weights for i in SIZES}
    return dimension, overall


def _schemas(db) -> list[str]:
    with db.cursor() as cur:
        cur.execute("select nspname from pg_namespace where starts_with(nspname, %s)", (PREFIX,))
        return [row[0] for row in cur.fetchall()]


def _execute(db, sql: str, *params) -> None:
    with db.cursor() as cur:
        cur.execute(sql, params or None)


def _seed_sync_run(db, label: str, rows: int, minutes_ago: float) -> None:
    """A successful Lightspeed sales load in the run history, `minutes_ago` before now."""
    ops = settings.schema(settings.OPS)
    _execute(db, f"insert into {ops}.sync_runs (run_id, source, resource, started_at, finished_at, status, "
                 f"rows_loaded, trigger) values (%s, 'lightspeed', 'sales', now() - make_interval(secs => %s), "
                 f"now() - make_interval(secs => %s), 'success', %s, 'test')",
             f"seeded-{label}", minutes_ago * 60, minutes_ago * 60 - 5, rows)


@pytest.fixture(scope="module")
def scenario(database, tmp_path_factory):
    from expectations import run_quality
    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from sandbox.world import World

    gx_dir = tmp_path_factory.mktemp("gx_faults")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)  # raw, marts and ops of its own
        # Alert on any drop of a point or more: with the defaults (under 90, or down 10 points) only
        # the bigger of these problems would alert, and each one is to be seen here
        mp.setenv("SEAMLINE_QUALITY_ALERT_DROP", "1")
        mp.delenv("SEAMLINE_ALERT_URLS", raising=False)

        def quality(name: str):
            runs[name] = run_quality(database, run_id=f"{PREFIX}{name}", project_dir=gx_dir)
            return runs[name]

        try:
            world = World(seed=7, scale=300)
            with serve_world(world):
                assert sync_source("woocommerce", db=database).ok
                build = run_dbt(database, "build", "--select", "+fct_orders", "--resource-type", "seed",
                                "--resource-type", "model")
                assert build.success, build.failures
                quality("before")
                for name in BAD:
                    result = sync_source(name, db=database)
                    assert result.ok, (name, result.message)
                quality("clean")
            with serve_world(world, faults=";".join(f"{name}:bad_data=on" for name in BAD)):
                for name in BAD:  # from scratch, so every record comes again, corrupted where the fault says
                    result = sync_source(name, full_refresh=True, db=database)
                    assert result.ok, (name, result.message)
            raw_woo = settings.raw_schema("woocommerce")
            _execute(database, f"update {raw_woo}._dlt_loads set inserted_at = inserted_at - interval '2 hours'")
            for n, rows in enumerate(HISTORY):
                _seed_sync_run(database, f"history-{n}", rows, minutes_ago=600 - 60 * n)  # before the real runs
            _seed_sync_run(database, "drop", DROPPED, minutes_ago=0)
            quality("faults")

            _execute(database, f"update {raw_woo}._dlt_loads set inserted_at = now()")
            _seed_sync_run(database, "recovered", RECOVERED, minutes_ago=0)
            quality("recovery")

            yield world, runs, settings.raw_schema, settings.schema(settings.OPS)
        finally:  # leave the session database as it was, also when a step above failed
            with database.cursor() as cur:
                for schema in _schemas(database):
                    cur.execute(f'drop schema if exists "{schema}" cascade')


def _stored_scores(db, ops: str, run_id: str) -> dict[tuple[str, str], tuple[int, int, float]]:
    with db.cursor() as cur:
        cur.execute(f"select integration, dimension, passed, total, score from {ops}.quality_scores "
                    "where run_id = %s", (run_id,))
        return {(i, d): (p, t, float(s)) for i, d, p, t, s in cur.fetchall()}


def _alerts(db, ops: str) -> list[tuple[str, bool]]:
    with db.cursor() as cur:
        cur.execute(f"select incident_key, resolved_at is null from {ops}.alerts "
                    "where kind in ('quality_drop', 'volume_anomaly') order by incident_key")
        return cur.fetchall()


def test_an_integration_never_synced_is_skipped_not_scored(scenario):
    _, runs, _, _ = scenario
    before = runs["before"]
    assert before.scores == {"woocommerce": 100.0}
    assert set(before.skipped) == set(BAD)
    assert all("has not landed" in reason for reason in before.skipped.values())
    assert before.failed == [] and before.alerts_opened == []
    assert {o.integration for o in before.outcomes} == {"woocommerce"}


def test_clean_world_passes_every_suite(scenario, database):
    _, runs, _, ops = scenario
    clean = runs["clean"]
    assert clean.failed == [], clean.failed
    assert clean.skipped == {} and clean.skipped_suites == {}
    assert clean.scores == {name: 100.0 for name in SOURCES}
    counts = Counter((o.integration, o.dimension) for o in clean.outcomes)
    assert counts == Counter({(i, d): n for i, sizes in SIZES.items() for d, n in sizes.items()})
    stored = _stored_scores(database, ops, clean.run_id)
    for integration, sizes in SIZES.items():
        for dimension, n in sizes.items():
            assert stored[(integration, dimension)] == (n, n, 100.0)
        total = sum(sizes.values())
        assert stored[(integration, "overall")] == (total, total, 100.0)
    assert clean.alerts_opened == [] and clean.volume_anomalies == {name: [] for name in SOURCES}


def test_faults_fail_exactly_their_expectations_and_scores_drop_by_the_suite_arithmetic(scenario, database):
    world, runs, raw_schema, ops = scenario
    faults = runs["faults"]
    expected = [f for failures in BAD_DATA_FAILURES.values() for f in failures] + [STALE_FAILURE, VOLUME_FAILURE]
    assert sorted(faults.failed) == sorted(expected)

    dimension, overall = expected_scores(expected)
    assert faults.dimension_scores == pytest.approx(dimension)
    assert faults.scores == pytest.approx(overall)
    # the arithmetic spelled out for two of them
    assert faults.scores["woocommerce"] == pytest.approx(90.0)  # timeliness 1 of 2: 50, the rest 100
    # the daily checksum and the volume fail, the date range holds: 1 of 3
    assert faults.dimension_scores[("lightspeed", "accuracy")] == pytest.approx(100 / 3)
    stored = _stored_scores(database, ops, faults.run_id)
    for integration, sizes in SIZES.items():
        failed = Counter(f[4] for f in expected if f[0] == integration)
        for dim, n in sizes.items():
            assert stored[(integration, dim)] == (n - failed[dim], n, round(dimension[(integration, dim)], 2))
        assert stored[(integration, "overall")][2] == round(overall[integration], 2)

    # each failure flags exactly the corrupted records the sandbox reports
    unexpected = {o.key: o.unexpected_count for o in faults.outcomes if not o.success}
    klaviyo, xero = world.klaviyo.bad_data_records(), world.xero.bad_data_records()
    lightspeed, finale = world.lightspeed.bad_data, world.finale.bad_data
    assert unexpected[BAD_DATA_FAILURES["klaviyo"][0]] == len(klaviyo["profiles_missing_email"])
    assert unexpected[BAD_DATA_FAILURES["klaviyo"][1]] == len(klaviyo["events_negative_quantity"])
    assert unexpected[BAD_DATA_FAILURES["klaviyo"][3]] == len(klaviyo["events_value_mismatch"])
    assert unexpected[BAD_DATA_FAILURES["xero"][0]] == len(xero["contacts_missing_email"])
    assert unexpected[BAD_DATA_FAILURES["xero"][1]] == len(xero["invoices_total_mismatch"])
    live = {world.xero.invoice_id(i) for i in world.xero.invoices if i.status not in ("VOIDED", "DELETED")}
    assert unexpected[BAD_DATA_FAILURES["xero"][2]] == len(xero["invoices_total_mismatch"] & live) > 0
    assert unexpected[BAD_DATA_FAILURES["xero"][3]] == len(xero["invoices_negative_quantity"])
    assert unexpected[BAD_DATA_FAILURES["lightspeed"][0]] == len(lightspeed["customers_missing_email"])
    assert unexpected[BAD_DATA_FAILURES["lightspeed"][1]] == len(lightspeed["sales_negative_quantity"])
    assert unexpected[BAD_DATA_FAILURES["lightspeed"][2]] == len(
        lightspeed["sales_negative_quantity"] | lightspeed["sales_bad_totals"])
    bad_days = scalar(database, f"select count(distinct cast(s.sale_date at time zone o.time_zone as date)) "
                                f"from {raw_schema('lightspeed')}.sales as s inner join "
                                f"{raw_schema('lightspeed')}.outlets as o on o.id = s.outlet_id "
                                f"where s.id = any(%s)", list(lightspeed["sales_bad_totals"]))
    assert unexpected[BAD_DATA_FAILURES["lightspeed"][3]] == bad_days > 0
    assert unexpected[BAD_DATA_FAILURES["finale"][0]] == len(finale["partygroups_missing_email"])
    assert unexpected[BAD_DATA_FAILURES["finale"][1]] == len(finale["inventoryitems_negative"])

    # the drop against the seeded loads and the two real full loads (first sync, full refresh):
    # median 41.5, MAD 2.5, spread max(1.4826 x 2.5, 10 % of 41.5, 1) = 4.15, flagged below 41.5 - 3 x 4.15
    (drop,) = faults.volume_anomalies["lightspeed"]
    real = len(world.lightspeed.sales)
    assert (drop.resource, drop.latest) == ("sales", DROPPED)
    assert sorted(drop.history) == sorted((*HISTORY, real, real))
    assert (drop.median, drop.mad, drop.threshold) == pytest.approx((41.5, 2.5, 41.5 - 3 * 4.15))
    assert all(not flagged for name, flagged in faults.volume_anomalies.items() if name != "lightspeed")


def test_one_alert_per_problem_and_they_resolve_on_recovery(scenario, database):
    _, runs, _, ops = scenario
    faults, recovery = runs["faults"], runs["recovery"]
    # four integrations with bad data, WooCommerce stale (its own quality_drop), Lightspeed's volume
    assert sorted(faults.alerts_opened) == sorted(
        [f"quality_drop:{name}" for name in SOURCES] + ["volume_anomaly:lightspeed"])
    assert faults.alerts_resolved == []

    assert sorted(recovery.failed) == sorted(f for failures in BAD_DATA_FAILURES.values() for f in failures)
    assert recovery.scores["woocommerce"] == 100.0
    assert sorted(recovery.alerts_resolved) == ["quality_drop:woocommerce", "volume_anomaly:lightspeed"]
    assert recovery.alerts_opened == []
    # one row per incident, the bad-data ones still open (their scores have not recovered)
    assert _alerts(database, ops) == sorted(
        [(f"quality_drop:{name}", name in BAD) for name in SOURCES] + [("volume_anomaly:lightspeed", False)])
