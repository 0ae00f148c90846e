"""Prefect orchestration: the retry ladder, the manual queue, alerts and the deployments."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import scalar, serve_world
from prefect import flow, task

from flows import cli
from flows.alerts import evaluate
from flows.ladder import SyncFailed, on_ladder
from flows.manual_queue import get, open_items
from flows.sync import sync_flow
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def failed_runs(db, source="woocommerce") -> int:
    return scalar(db, "select count(*) from ops.sync_runs where source = %s and status = 'failed'", source)


def test_a_flaky_task_succeeds_on_its_second_try(prefect_harness, monkeypatch):
    monkeypatch.setenv("SEAMLINE_RETRY_LADDER", "0,0.1,0.1,0.1")
    calls = []

    @task
    def flaky():
        calls.append(datetime.now(timezone.utc))
        if len(calls) == 1:
            raise SyncFailed("connection reset", transient=True, needs="replay")
        return "landed"

    @flow
    def run_flaky():
        return on_ladder(flaky)()

    assert run_flaky() == "landed"
    assert len(calls) == 2


def test_a_failing_sync_walks_the_ladder_then_waits_in_the_manual_queue(database, prefect_harness, monkeypatch):
    monkeypatch.setenv("SEAMLINE_RETRY_LADDER", "0,0.2,0.2,0.2")  # now, 5 min, 30 min, 2 h: compressed
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    world = World(seed=51, scale=150, start=START)
    with serve_world(world) as server:
        good_url = server.settings()["SOURCES__WOOCOMMERCE__BASE_URL"]
        monkeypatch.setenv("SOURCES__WOOCOMMERCE__BASE_URL", "http://127.0.0.1:9/wp-json/wc/v3")  # nobody home
        before = failed_runs(database)
        with pytest.raises(SyncFailed, match="manual queue item"):
            sync_flow(source="woocommerce", full_refresh=True)
        assert failed_runs(database) - before == 5  # the first try and four rungs
        (item,) = [i for i in open_items(database) if i.integration == "woocommerce"]
        assert item.flow_name == "sync" and item.parameters == {"source": "woocommerce", "full_refresh": True}
        assert "gave up on orders" in item.error and item.needs.startswith("replay")

        monkeypatch.setenv("SOURCES__WOOCOMMERCE__BASE_URL", good_url)  # the fault is cleared
        assert cli.main(["retry", str(item.item_id)]) == 0
    assert get(database, item.item_id).status == "closed"
    assert scalar(database, "select count(*) from raw_woocommerce.orders") == len(world.woocommerce.orders)
    assert cli.main(["retry", str(item.item_id)]) == 1  # a closed item is not replayed twice


def test_a_bad_credential_goes_straight_to_the_queue(database, prefect_harness, monkeypatch):
    monkeypatch.setenv("SEAMLINE_RETRY_LADDER", "0,0.2,0.2,0.2")
    world = World(seed=52, scale=100, start=START)
    with serve_world(world):
        monkeypatch.setenv("SOURCES__WOOCOMMERCE__CONSUMER_SECRET", "cs_revoked_by_the_shop")
        before = failed_runs(database)
        with pytest.raises(SyncFailed):
            sync_flow(source="woocommerce")
    assert failed_runs(database) - before == 1  # no retries: waiting cannot fix a credential
    item = next(i for i in open_items(database) if i.parameters == {"source": "woocommerce", "full_refresh": False})
    assert "refused the credentials" in item.error and "cs_revoked_by_the_shop" not in item.error
    assert item.needs.startswith("fix the credentials (SOURCES__WOOCOMMERCE__")


def test_a_crashed_run_lands_in_the_manual_queue(database, prefect_harness, monkeypatch):
    import flows.sync

    def worker_dies(*args, **kwargs):
        raise KeyboardInterrupt  # what Prefect sees when the process running the flow is interrupted

    monkeypatch.setattr(flows.sync, "sync_in_process", worker_dies)
    with pytest.raises(KeyboardInterrupt):
        sync_flow(source="woocommerce", full_refresh=True)
    item = next(i for i in open_items(database) if i.error.startswith("the run crashed"))
    assert item.flow_name == "sync" and item.parameters == {"source": "woocommerce", "full_refresh": True}
    assert "replay it" in item.needs


class _Capture(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def alert_channel(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Capture.received = []
    monkeypatch.setenv("SEAMLINE_ALERT_URLS", f"json://127.0.0.1:{server.server_address[1]}/alerts")
    yield _Capture.received
    server.shutdown()


def test_an_alert_fires_once_per_incident_and_resolves_when_it_clears(database, alert_channel, monkeypatch):
    from seamline.ops import ResourceRun, ensure_ops_schema, record_sync_runs

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "alerting_")  # a clean run history of its own
    monkeypatch.setenv("SEAMLINE_ALERT_LATENCY_MINUTES", "60")
    ensure_ops_schema(database)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)

    def seed(run_id, minutes_ago, status, rows, calls, errors):
        at = now - timedelta(minutes=minutes_ago)
        record_sync_runs(database, run_id, [ResourceRun(
            "woocommerce", "orders", started_at=at, finished_at=at + timedelta(seconds=20), status=status,
            rows_loaded=rows, api_calls=calls, errors=errors,
            error_message=None if status == "success" else "woocommerce: gave up on orders (HTTP 503)")], "test")

    seed("r1", 30, "success", 40, 10, 0)
    seed("r2", 5, "failed", 0, 10, 10)  # 10 failed calls of 20 in 24 h: 50 %
    first = evaluate(database, now=now, sources=["woocommerce"])
    assert sorted(first.opened) == ["error_rate_high:woocommerce", "integration_failed:woocommerce"]
    again = evaluate(database, now=now + timedelta(minutes=1), sources=["woocommerce"])
    assert again.opened == [] and again.resolved == []  # no repeat while it lasts
    assert len(alert_channel) == 2
    assert {a["title"] for a in alert_channel} == {"[Seamline] integration failed: woocommerce",
                                                   "[Seamline] error rate high: woocommerce"}

    seed("r3", 1, "success", 12, 200, 0)  # 10 of 220 calls: 4.5 %
    cleared = evaluate(database, now=now, sources=["woocommerce"])
    assert sorted(cleared.resolved) == ["error_rate_high:woocommerce", "integration_failed:woocommerce"]
    assert len(alert_channel) == 4 and alert_channel[-1]["title"].startswith("[Seamline] resolved")
    assert scalar(database, "select count(*) from alerting_ops.alerts where resolved_at is not null") == 2
    assert scalar(database, "select bool_and(delivered) from alerting_ops.alerts")

    later = evaluate(database, now=now + timedelta(hours=2), sources=["woocommerce"])  # nothing synced since
    assert later.opened == ["latency_high:woocommerce"]


def test_the_deployments_carry_the_configured_schedules(prefect_harness, monkeypatch):
    from prefect.client.orchestration import get_client

    from flows.deployments import load_specs, to_deployments

    monkeypatch.setenv("SEAMLINE_SCHEDULE__SYNC_WOOCOMMERCE", "300")
    deployments = {d.name: d for d in to_deployments(load_specs())}
    assert {"sync-woocommerce", "pipeline", "transform", "quality"} <= set(deployments)
    woo = deployments["sync-woocommerce"]
    assert woo.schedules[0].schedule.interval == timedelta(seconds=300)  # the override
    assert woo.parameters == {"source": "woocommerce"}
    assert woo.concurrency_limit == 1 and woo.concurrency_options.collision_strategy.value == "ENQUEUE"
    pipeline = deployments["pipeline"]
    assert pipeline.schedules[0].schedule.cron == "0 5 * * *"
    assert pipeline.schedules[0].schedule.timezone == "Australia/Melbourne"
    assert deployments["transform"].schedules == []

    monkeypatch.delenv("SEAMLINE_SCHEDULE__SYNC_WOOCOMMERCE")
    default = next(d for d in to_deployments(load_specs()) if d.name == "sync-woocommerce")
    deployment_id = default.apply()
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
        schedules = client.read_deployment_schedules(deployment_id)
    assert stored.name == "sync-woocommerce"
    assert [s.schedule.interval for s in schedules] == [timedelta(seconds=900)]


def test_a_failing_source_does_not_stop_the_others_and_transform_runs(database, prefect_harness, monkeypatch):
    from flows.pipeline import pipeline_flow

    world = World(seed=53, scale=150, start=START)
    with serve_world(world):
        monkeypatch.setenv("SOURCES__KLAVIYO__API_KEY", "pk_revoked_0000")
        result = pipeline_flow(sources=["woocommerce", "klaviyo"], full_refresh=True, trigger="test")
    by_source = {s.source: s for s in result.syncs}
    assert by_source["woocommerce"].status == "success"
    assert by_source["klaviyo"].status == "failed"
    assert result.stale_sources == ["klaviyo"]
    assert result.dbt is not None and result.dbt.success  # the transform ran on what landed
    assert scalar(database, "select count(*) from marts.fct_orders") == len(world.woocommerce.orders)
    # each dbt node is a task the Prefect UI shows
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="fct_orders")))
    assert any(run.name == "model fct_orders" and run.state.is_completed() for run in runs), [r.name for r in runs]
    assert scalar(database, "select stale_sources from ops.pipeline_runs where run_id = %s", result.run_id) == [
        "klaviyo"]
    assert scalar(database, "select status from ops.pipeline_runs where run_id = %s", result.run_id) == "partial"
    item = next(i for i in open_items(database) if i.integration == "klaviyo")
    assert "refused the credentials" in item.error and "pk_revoked_0000" not in item.error
    assert scalar(database, "select count(*) from ops.alerts where incident_key = 'integration_failed:klaviyo' "
                            "and resolved_at is null") == 1
