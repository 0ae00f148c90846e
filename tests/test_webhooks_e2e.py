"""A change in the sandbox store reaches `marts.fct_orders` through the webhook path, in seconds:
signed WooCommerce webhooks -> the receiver mounted by `seamline serve` -> the processor's
incremental sync -> dbt build, with no schedule involved."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
from conftest import rows, scalar, serve_world

from flows.dashboard import DashboardServer
from flows.serve import build_web_app
from ingest.sync import sync_source
from sandbox.woocommerce.render import render_order
from sandbox.world import World
from webhooks.processor import Processor
from webhooks.runners import InProcessRunner
from webhooks.store import ensure_tables

SECRET = "wc-e2e-secret"
START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def fct_orders(db, keys: list[str]) -> dict[str, tuple]:
    with db.cursor() as cur:
        cur.execute("select to_regclass('marts.fct_orders')")
        if cur.fetchone()[0] is None:  # the first build has not finished yet
            return {}
        cur.execute("select order_key, source_status, is_deleted from marts.fct_orders where order_key = any(%s)",
                    (keys,))
        return {key: (status, deleted) for key, status, deleted in cur.fetchall()}


def seen(found: dict, expected: dict) -> dict:
    """What fct_orders says, in the shape of `expected`: (status, deleted), or just deleted."""
    return {k: v if isinstance(expected[k], tuple) else v[1] for k, v in found.items()}


def test_a_sandbox_change_reaches_fct_orders_through_webhooks(database, monkeypatch):
    monkeypatch.setenv("WEBHOOKS__WOOCOMMERCE__SECRET", SECRET)
    monkeypatch.setenv("SEAMLINE_DASHBOARD_PASSWORD", "e2e-dashboard-password")
    monkeypatch.setenv("WEBHOOKS_DBT_SELECT", "+fct_orders")  # only what this test reads: faster
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__RECONCILE_INTERVAL_HOURS", "0")  # look for force-deletes every sync
    ensure_tables(database)
    with database.cursor() as cur:
        cur.execute("truncate ops.dead_letter, ops.webhook_events")
    world = World(seed=97, scale=150, start=START)
    advances: list[dict] = []
    world.listeners.append(advances.append)
    with DashboardServer(build_web_app(database), port=0) as web:
        # one port: the receiver at /webhooks (no login), the dashboard at / (behind its login)
        assert httpx.get(f"{web.url}webhooks/healthz").text == "ok"
        assert httpx.get(web.url).status_code == 303
        monkeypatch.setenv("SEAMLINE_SANDBOX_WEBHOOK_URL", f"{web.url}webhooks")
        with serve_world(world) as sandbox:
            initial = sync_source("woocommerce", full_refresh=True, db=database)  # the initial load
            assert initial.ok, initial.message
            processor = Processor(database, InProcessRunner(database), debounce=1.5, poll=0.2).start()
            try:
                t0 = time.perf_counter()
                moved = httpx.post(f"{sandbox.base_url}/_sandbox/advance?hours=4", timeout=60).json()
                changes = advances[-1]["woocommerce"]
                assert moved["woocommerce"]["orders"] == len(changes["orders"]) > 0
                sender = sandbox.webhooks
                sender.drain()
                gone = changes["orders_deleted"] | {o.id for o in world.woocommerce.orders.values() if o.trashed}
                expected = {f"woocommerce:{oid}": (render_order(world.woocommerce.orders[oid])["status"], False)
                            for oid in changes["orders"] if oid not in gone}
                expected.update({f"woocommerce:{oid}": True for oid in gone})
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    if seen(fct_orders(database, list(expected)), expected) == expected:
                        break
                    time.sleep(0.5)
                elapsed = time.perf_counter() - t0
            finally:
                processor.stop()
    print(f"\n{len(expected)} changed orders in fct_orders {elapsed:.1f}s after the change "
          f"({sender.sent} webhooks, {processor.syncs} sync)")
    assert sender.failed == 0
    assert sender.sent == len(changes["orders"]) + len(changes["orders_deleted"]) + len(changes["customers"]) + \
        len(changes["products"])
    assert seen(fct_orders(database, list(expected)), expected) == expected
    assert len(gone) >= 2 and len(expected) > len(gone)  # new orders, status changes, a trash and a force-delete
    # one burst of webhooks, one sync (two if a busy machine paused the sender past the debounce)
    assert 1 <= processor.syncs <= 2
    assert processor.last_transform.ok, processor.last_transform.message
    assert scalar(database, "select count(*) from ops.webhook_events where status <> 'done'") == 0
    assert scalar(database, "select count(*) from ops.webhook_events") == sender.sent
    # customers have no modified filter and the full scan is not due: the sync read the new
    # sign-ups, those who ordered and those whose customer.updated webhooks named them, so
    # every changed customer landed as they are now (profile edits without an order included)
    landed = dict(rows(database, "select id, date_modified_gmt from raw_woocommerce.customers where id = any(%s)",
                       sorted(changes["customers"])))
    assert landed == {cid: world.woocommerce.customers[cid].modified for cid in changes["customers"]}
