"""The processor: a burst of events becomes one incremental sync; failures climb the retry ladder
into the dead-letter queue; `seamline retry --dead-letter ID` replays them."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from conftest import scalar, serve_world
from starlette.testclient import TestClient

from flows.cli import main as seamline
from ingest.sync import sync_source
from sandbox.server import free_port
from sandbox.webhooks import woocommerce_headers
from sandbox.world import World
from webhooks.processor import Processor
from webhooks.receiver import build_app
from webhooks.runners import InProcessRunner
from webhooks.store import ConnectionPool, dead_letters, ensure_tables, record
from webhooks.vendors import Delivery

SECRET = "wc-processor-secret"
START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def receiver(database, monkeypatch):
    monkeypatch.setenv("WEBHOOKS__WOOCOMMERCE__SECRET", SECRET)
    monkeypatch.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.01")
    ensure_tables(database)
    with database.cursor() as cur:
        cur.execute("truncate ops.dead_letter, ops.webhook_events")
    with TestClient(build_app(database)) as client:
        yield client


def deliver(client, n: int, resource: str = "order", first_id: int = 1) -> None:
    for oid in range(first_id, first_id + n):
        body = json.dumps({"id": oid, "date_modified_gmt": "2026-11-02T10:00:00"}).encode()
        headers = woocommerce_headers(SECRET, body, resource, "updated", f"{resource}-{oid}")
        assert client.post("/webhooks/woocommerce", content=body, headers=headers).status_code == 200


def states(database) -> dict[str, int]:
    with database.cursor() as cur:
        cur.execute("select status, count(*) from ops.webhook_events group by status")
        return dict(cur.fetchall())


def test_a_burst_of_a_thousand_events_runs_one_sync_and_each_event_is_done_once(receiver, database):
    pool = ConnectionPool(database)  # stored as the receiver stores them (its HTTP side: test_webhooks_load)
    for oid in range(1000):
        record(pool, Delivery("woocommerce", f"delivery:{oid}", "order.updated", ["order"]), b"{}", {})
    pool.close()
    world = World(seed=91, scale=120, start=START)
    with serve_world(world):
        # this world's orders only: other tests' worlds share raw_woocommerce
        assert sync_source("woocommerce", full_refresh=True, db=database).ok
        runner = InProcessRunner(database)
        waiting = Processor(database, runner, debounce=3600, max_delay=3600, transform=False)
        assert waiting.run_once() == []  # still inside the debounce window: nothing yet
        processor = Processor(database, runner, debounce=0, transform=False)
        results = processor.run_once()
        assert processor.run_once() == []  # nothing left
    assert processor.syncs == 1 and len(results) == 1 and len(results[0].event_ids) == 1000
    run_id = results[0].outcome.run_id
    with database.cursor() as cur:
        cur.execute("select count(*), count(distinct run_id), min(run_id), max(attempts), min(attempts) "
                    "from ops.webhook_events where status = 'done' and processed_at is not null")
        assert cur.fetchone() == (1000, 1, run_id, 1, 1)
        cur.execute("select distinct trigger, status from ops.sync_runs where run_id = %s", (run_id,))
        assert cur.fetchall() == [("webhook", "success")]
        cur.execute("select count(*) from raw_woocommerce.orders")
        assert cur.fetchone()[0] == len(world.woocommerce.orders)


def test_failures_climb_the_ladder_then_dead_letter_and_retry_replays_them(receiver, database, monkeypatch, capsys):
    monkeypatch.setenv("SEAMLINE_RETRY_LADDER", "0,0")
    deliver(receiver, 3)
    deliver(receiver, 1, resource="action", first_id=99)  # a resource no sync covers
    # the store does not answer (nothing listens there): a transient failure
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__BASE_URL", f"http://127.0.0.1:{free_port()}/wp-json/wc/v3")
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__CONSUMER_KEY", "ck")
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__CONSUMER_SECRET", "cs")
    processor = Processor(database, InProcessRunner(database), debounce=0, transform=False)
    first = processor.run_once()[0]
    assert len(first.retrying) == 3 and len(first.dead) == 1  # the unknown resource: dead at once
    assert states(database) == {"pending": 3, "dead": 1}
    second = processor.run_once()[0]
    assert len(second.retrying) == 3
    third = processor.run_once()[0]  # the ladder (2 retries) is used up
    assert len(third.dead) == 3 and states(database) == {"dead": 4}
    letters = dead_letters(database)
    assert [d.attempts for d in letters] == [1, 3, 3, 3]
    assert "no sync covers woocommerce resource 'action'" in letters[0].reason
    assert all("127.0.0.1" in d.reason or "onnect" in d.reason for d in letters[1:]), letters[1].reason
    capsys.readouterr()
    assert seamline(["queue"]) == 0  # the operator's list shows them, with how to replay
    listed = capsys.readouterr().out
    assert f"dead letter {letters[1].dead_id}: woocommerce order.updated" in listed
    assert f"replay: seamline retry --dead-letter {letters[1].dead_id}" in listed and listed.count("dead letter") == 4
    # seamline retry --dead-letter: the unknown resource still cannot be replayed, clearly
    assert seamline(["retry", "--dead-letter", str(letters[0].dead_id)]) == 1
    assert "still no sync covers woocommerce resource 'action'" in capsys.readouterr().err
    world = World(seed=92, scale=100, start=START)
    monkeypatch.setenv("WEBHOOKS_TRANSFORM", "off")
    with serve_world(world):
        assert seamline(["retry", "--dead-letter", str(letters[1].dead_id)]) == 0
    assert f"dead letter {letters[1].dead_id} replayed" in capsys.readouterr().out
    assert [d.dead_id for d in dead_letters(database)] == [letters[0].dead_id, letters[2].dead_id,
                                                         letters[3].dead_id]
    assert scalar(database, "select status from ops.webhook_events where event_id = %s", letters[1].event_id) == "done"
    assert seamline(["retry", "--dead-letter", str(letters[1].dead_id)]) == 1  # already replayed


def test_a_refused_credential_dead_letters_at_once(receiver, database, monkeypatch):
    deliver(receiver, 2)
    world = World(seed=93, scale=100, start=START)
    with serve_world(world):
        monkeypatch.setenv("SOURCES__WOOCOMMERCE__CONSUMER_SECRET", "cs_wrong")
        result = Processor(database, InProcessRunner(database), debounce=0, transform=False).run_once()[0]
    assert len(result.dead) == 2 and not result.retrying
    reasons = {d.reason for d in dead_letters(database)}
    assert len(reasons) == 1 and "retrying cannot help" in reasons.pop()


def test_through_prefect_one_flow_run_per_batch_of_events(prefect_harness):
    """With a Prefect API, a batch becomes a run of the `sync-<source>` deployment; its idempotency
    key makes a processor restarted mid-batch find that run again instead of starting another."""
    from prefect.client.orchestration import get_client

    from flows.deployments import load_specs, to_deployments
    from webhooks.runners import PrefectRunner

    deployment = next(d for d in to_deployments(load_specs()) if d.name == "sync-woocommerce")
    deployment.apply()
    runner = PrefectRunner(timeout=0)  # do not wait: no worker serves it in this test
    first = runner.sync("woocommerce", "webhooks-woocommerce-1-40-40-try1")
    again = runner.sync("woocommerce", "webhooks-woocommerce-1-40-40-try1")
    retried = runner.sync("woocommerce", "webhooks-woocommerce-1-40-40-try2")
    assert first.run_id == again.run_id != retried.run_id
    assert not first.ok and "Scheduled" in first.message  # not finished: not counted as done
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(first.run_id)
    assert run.parameters == {"source": "woocommerce", "trigger": "webhook", "use_ladder": False}
    assert "webhook" in run.tags
