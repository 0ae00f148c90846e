"""`seamline status` and `seamline report` against a seeded run history, on an injected clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from conftest import scalar

from flows import health
from flows.report import build_report, to_markdown, write_report
from flows.status import format_table, integration_status
from seamline.errors import SeamlineError

PREFIX = "statusrep_"
OPS = f"{PREFIX}ops"
SOURCES = ["woocommerce", "klaviyo", "xero", "lightspeed", "finale"]
NOW = datetime(2024, 1, 17, 12, 0, tzinfo=timezone.utc)  # a Wednesday in ISO week 2024-W03
# the schedules of flows/prefect.yaml, fixed here so the expected next syncs do not drift
SPECS = [
    *({"name": f"sync-{s}", "entrypoint": "flows/sync.py:sync_flow", "parameters": {"source": s},
       "schedule": {"interval": 900 if s in ("woocommerce", "lightspeed") else 3600}} for s in SOURCES),
    {"name": "pipeline", "entrypoint": "flows/pipeline.py:pipeline_flow",
     "schedule": {"cron": "0 5 * * *", "timezone": "Australia/Melbourne"}},
]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def history(database):
    """Five integrations: fresh (woocommerce, lightspeed), ageing (klaviyo), failing (xero), never (finale)."""
    from expectations.store import ensure_tables
    from seamline.ops import ResourceRun, ensure_ops_schema, record_sync_runs

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)  # a run history of its own, untouched by other tests
        with database.cursor() as cur:
            cur.execute(f"drop schema if exists {OPS} cascade")
        ensure_ops_schema(database)
        ensure_tables(database)

        def run(source, run_id, started, status, resources, seconds=3.2, error=None, changes=None):
            record_sync_runs(database, run_id, [ResourceRun(
                source, name, started_at=started, finished_at=started + timedelta(seconds=seconds), status=status,
                rows_loaded=rows, api_calls=calls, errors=errors, error_message=error,
                schema_changes=(changes or {}).get(name, [])) for name, (rows, calls, errors) in resources.items()],
                "test")

        run("woocommerce", "w0", at(10, 9), "success", {"orders": (500, 40, 0), "customers": (80, 10, 0)})
        run("woocommerce", "w1", at(15, 9), "success", {"orders": (100, 10, 0), "customers": (20, 3, 0)})
        run("woocommerce", "w2", at(16, 10), "failed", {"orders": (0, 5, 2)}, error="woocommerce: HTTP 503")
        run("woocommerce", "w3", at(17, 11, 35), "success", {"orders": (40, 8, 1), "customers": (5, 2, 0)},
            changes={"orders": [{"table": "orders", "column": "gift_note", "change": "new_column"}]})
        run("klaviyo", "k1", at(16, 6), "success", {"profiles": (300, 12, 0)}, seconds=8)
        run("klaviyo", "k2", at(17, 7, 10), "success", {"profiles": (7, 2, 0), "events": (90, 4, 0)}, seconds=1.5)
        run("xero", "x1", at(16, 20), "success", {"invoices": (60, 6, 0)})
        run("xero", "x2", at(17, 10, 10), "failed", {"*": (0, 0, 1)}, error="xero: the API refused the credentials")
        run("lightspeed", "l1", at(17, 11), "success", {"sales": (25, 5, 0)}, seconds=0.8)
        with database.cursor() as cur:
            cur.execute(f"insert into {OPS}.alerts (incident_key, kind, integration, message, opened_at, resolved_at) "
                        "values ('integration_failed:woocommerce', 'integration_failed', 'woocommerce', "
                        "'woocommerce: the latest sync failed', %s, %s), "
                        "('integration_failed:xero', 'integration_failed', 'xero', 'xero: the latest sync failed', "
                        "%s, null)", (at(16, 10, 5), at(17, 11, 36), at(17, 10, 15)))
            cur.execute(f"insert into {OPS}.manual_queue (flow_name, parameters, integration, error, needs, "
                        "created_at) values ('sync', %s, 'xero', 'xero: the API refused the credentials', "
                        "'fix the credentials, then replay', %s)", (json.dumps({"source": "xero"}), at(17, 10, 16)))
            cur.execute(f"insert into {OPS}.quality_scores values ('q1', %s, 'woocommerce', 'overall', 24, 25, 96)",
                        (at(17, 11, 40),))
        yield database


def status_of(db, now=NOW) -> dict[str, dict]:
    return {s["integration"]: s for s in integration_status(db, now=now, sources=SOURCES, specs=SPECS)}


def test_status_numbers_are_those_of_the_run_record(history):
    status = status_of(history)
    for source in ("woocommerce", "klaviyo", "xero", "lightspeed"):
        latest = scalar(history, f"select run_id from {OPS}.sync_runs where source = %s "
                                 "order by started_at desc limit 1", source)
        m = status[source]["metrics"]
        assert m["records_synced"] == scalar(history, f"select sum(rows_loaded) from {OPS}.sync_runs "
                                                      "where run_id = %s", latest)
        assert m["errors"] == scalar(history, f"select sum(errors) from {OPS}.sync_runs where run_id = %s", latest)
        assert m["sync_duration_ms"] == scalar(history, f"select max(duration_ms) from {OPS}.sync_runs "
                                                        "where run_id = %s", latest)
        last_success = scalar(history, f"select max(last_success_at) from {OPS}.sync_state where source = %s", source)
        assert status[source]["last_sync"] == last_success.isoformat().replace("+00:00", "Z")
        assert status[source]["records_total"] == scalar(
            history, f"select sum(rows_loaded) from {OPS}.sync_runs where source = %s and status = 'success'", source)

    woo = status["woocommerce"]
    assert woo["status"] == "operational" and woo["freshness"] == "green"
    assert woo["metrics"] == {"records_synced": 45, "sync_duration_ms": 3200, "errors": 1,
                              "next_sync": "2024-01-17T12:05:00Z"}  # 15-minute interval from 11:35
    assert woo["last_sync_age_s"] == 24 * 60 + 56  # finished 11:35:03.2
    # the formula, by hand: 3 of 4 runs succeeded, green, 3 errors in 78 calls, quality 96, no open alert
    expected = 0.35 * 75 + 25 + 15 * (1 - (3 / 78) / 0.05) + 0.15 * 96 + 10
    assert woo["health_score"] == round(expected) == 79
    assert woo["quality_score"] == 96.0 and woo["open_alerts"] == 0

    assert status["klaviyo"]["freshness"] == "yellow" and status["klaviyo"]["status"] == "operational"
    assert status["klaviyo"]["metrics"]["records_synced"] == 97
    assert status["klaviyo"]["metrics"]["next_sync"] == "2024-01-17T12:10:00Z"  # hourly from 07:10
    # no quality run for klaviyo: left out, the other weights rescaled (2 of 2 ok, yellow, no errors)
    assert status["klaviyo"]["health_score"] == round(100 * (35 + 12.5 + 15 + 10) / 85) == 85

    xero = status["xero"]
    assert (xero["status"], xero["freshness"], xero["open_alerts"]) == ("failing", "red", 1)
    assert xero["last_run"]["error"] == "xero: the API refused the credentials"
    assert xero["health_score"] == round(100 * (0.5 * 35 + 0 + 0 + 5) / 85) == 26

    finale = status["finale"]
    assert (finale["status"], finale["freshness"], finale["health_score"], finale["last_sync"]) == (
        "never_synced", "red", 0, None)
    assert finale["metrics"]["next_sync"] == "2024-01-17T12:00:00Z"  # never run: due now

    # the pipeline's daily 05:00 Melbourne run (18:00 UTC in January) is the next sync when it comes first
    late = status_of(history, now=at(17, 17, 50))
    assert late["klaviyo"]["metrics"]["next_sync"] == "2024-01-17T18:00:00Z"

    json.dumps(list(status.values()))  # the --json form serialises as it is
    table = format_table(list(status.values()))
    assert "woocommerce" in table.splitlines()[1] and "latest errors:" in table
    assert integration_status(history, now=NOW, sources=["woocommerce"])[0]["metrics"]["next_sync"]  # prefect.yaml


def test_a_source_turns_yellow_then_red_as_time_passes(history, monkeypatch):
    finished = at(17, 11, 35) + timedelta(seconds=3.2)
    colours = [status_of(history, finished + timedelta(hours=h))["woocommerce"]["freshness"] for h in (1, 3, 13)]
    assert colours == ["green", "yellow", "red"]
    assert status_of(history, finished + timedelta(hours=13))["woocommerce"]["status"] == "degraded"

    monkeypatch.setenv("SEAMLINE_FRESHNESS_YELLOW_HOURS__WOOCOMMERCE", "0.5")
    monkeypatch.setenv("SEAMLINE_FRESHNESS_RED_HOURS__WOOCOMMERCE", "2")
    colours = [status_of(history, finished + timedelta(hours=h))["woocommerce"]["freshness"] for h in (0.25, 1, 3)]
    assert colours == ["green", "yellow", "red"]
    assert health.freshness("lightspeed", timedelta(hours=1)) == "green"  # other sources keep the defaults


def test_the_weekly_report_counts_what_the_run_record_holds(history, tmp_path):
    report = build_report(history, week="2024-W03", now=NOW, sources=SOURCES, specs=SPECS)
    assert (report.start, report.end, report.as_of) == (at(15, 0), at(22, 0), NOW)
    by_name = {i.integration: i for i in report.integrations}
    week = (at(15, 0), NOW)
    for source in SOURCES:
        i = by_name[source]
        assert i.rows == scalar(history, f"select coalesce(sum(rows_loaded), 0) from {OPS}.sync_runs "
                                         "where source = %s and started_at >= %s and started_at < %s", source, *week)
        assert i.errors == scalar(history, f"select coalesce(sum(errors), 0) from {OPS}.sync_runs "
                                           "where source = %s and started_at >= %s and started_at < %s", source, *week)
        assert i.runs == scalar(history, f"select count(distinct run_id) from {OPS}.sync_runs "
                                         "where source = %s and started_at >= %s and started_at < %s", source, *week)
    assert (by_name["woocommerce"].runs, by_name["woocommerce"].failed_runs, by_name["woocommerce"].rows) == (3, 1, 165)
    assert [i.integration for i in report.active] == ["woocommerce", "klaviyo", "xero", "lightspeed"]
    statuses = status_of(history)
    assert report.overall_health == round(sum(statuses[s]["health_score"] for s in SOURCES[:4]) / 4)

    md = to_markdown(report)
    assert "Active integrations: 4 of 5" in md and f"Overall health: {report.overall_health}%" in md
    assert "| woocommerce | operational | 25 min ago | 3 | 3 | 1 | 165 | 79 |" in md
    assert "| finale | never_synced | never | 0 | 0 | 0 | 0 | 0 |" in md
    issues = md.split("## Issues")[1].split("## Changes")[0]
    assert "woocommerce: 1 failed sync" in issues and "Resolved: the next sync succeeded Wed 17 Jan 11:35" in issues
    assert "xero: 1 failed sync" in issues and "Unresolved" in issues
    assert "alert integration failed on woocommerce" in issues and "Resolved Wed 17 Jan 11:36" in issues
    assert "alert integration failed on xero" in issues and "Still open" in issues
    assert "manual queue #1" in issues and "Open, needs: fix the credentials" in issues
    changes = md.split("## Changes")[1]
    assert "new integration: klaviyo" in changes and "new integration: woocommerce" not in changes
    assert "schema change in woocommerce: new column orders.gift_note" in changes

    md_path, html_path = write_report(report, tmp_path)
    assert md_path.read_text() == md
    assert "<td>woocommerce</td>" in html_path.read_text() and "Overall health" in html_path.read_text()

    # a past week is reported as it stood at its end; the week before held only woocommerce's first sync
    before = build_report(history, week="2024-W02", now=NOW, sources=SOURCES, specs=SPECS)
    assert before.as_of == at(15, 0) and [i.integration for i in before.active] == ["woocommerce"]
    assert {i.integration: i.rows for i in before.integrations}["woocommerce"] == 580


def test_report_refuses_a_bad_or_future_week(history):
    with pytest.raises(SeamlineError, match="2024-W03"):
        build_report(history, week="last week", now=NOW, sources=SOURCES, specs=SPECS)
    with pytest.raises(SeamlineError, match="not started"):
        build_report(history, week="2024-W05", now=NOW, sources=SOURCES, specs=SPECS)


def test_the_commands_print_status_and_write_the_report(history, monkeypatch, tmp_path, capsys):
    from flows.cli import main

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
    assert main(["status", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"integration", "status", "last_sync", "metrics", "health_score", "freshness"} <= set(rows[0])
    assert set(rows[0]["metrics"]) == {"records_synced", "sync_duration_ms", "errors", "next_sync"}
    assert main(["report", "--week", "2024-W03", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# INTEGRATION HEALTH REPORT, week 2024-W03")
    assert (tmp_path / "integration-health-2024-W03.html").exists()
    assert main(["report", "--week", "2024W99"]) == 1
    assert capsys.readouterr().err.strip() == "seamline: 2024 has no ISO week 99"
