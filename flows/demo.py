"""`seamline demo`: the whole pipeline against the sandbox, with a summary an operator can read.

The first run loads everything; every later run moves the same sandbox world forward and
syncs incrementally, and the summary says how much that was.
"""

from __future__ import annotations

import os
import secrets
import time

from flows.dashboard.server import DashboardServer
from flows.dbt import docs_path, run_dbt
from flows.pipeline import PipelineResult, pipeline_flow
from outbound.demo import show_outbound
from sandbox.persist import catch_up_hours, load_world, save_world
from sandbox.server import SandboxServer
from seamline import settings
from seamline.database import get_database
from webhooks.receiver import build_receiver_app

DEMO_SEED = 7
DEMO_SCALE = int(os.environ.get("SEAMLINE_DEMO_SCALE", "1000"))


def run_demo(out=print) -> int:
    db = get_database()
    out(f"Seamline demo: data in the {db.describe()}")
    state = settings.home() / "sandbox" / "demo-world.json"
    world, fresh = load_world(state, DEMO_SEED, DEMO_SCALE)
    if fresh:
        out(f"Sandbox world: seed {DEMO_SEED}, {DEMO_SCALE} web orders; first run, full load.")
    else:
        hours = catch_up_hours(world)
        changes = world.advance(hours)
        changed = sum(len(ids) for vendor in changes.values() for ids in vendor.values())
        out(f"Sandbox world moved {hours:.2f} h: {changed} records changed; syncing incrementally.")
    started = time.monotonic()
    # a demo-only key the sandbox signs with and the receiver checks (never printed)
    os.environ.setdefault("WEBHOOKS__WOOCOMMERCE__SECRET", secrets.token_urlsafe(24))
    with DashboardServer(build_receiver_app(db), port=0) as receiver, \
            SandboxServer(world, webhook_url=receiver.url) as sandbox:
        os.environ.update(sandbox.settings())
        result = pipeline_flow(trigger="demo")
        docs = run_dbt(db, "docs", "generate")
        took = time.monotonic() - started
        webhooks = show_webhook_path(db, world, sandbox) if result.ok else None
        # after the webhook step: its sync and build bring the marts up to the store's latest
        outbound = show_outbound(db, world) if result.ok else []
    save_world(world, state)
    for line in summary(result, fresh, took, docs.success):
        out(line)
    if webhooks:
        out(webhooks)
    for line in outbound:
        out(line)
    from flows.dashboard.auth import ensure_demo_password

    password = ensure_demo_password()
    out(f"dashboard: SEAMLINE_DASHBOARD_PASSWORD='{password}' .venv/bin/seamline serve --port 8765")
    out(f"           then open http://127.0.0.1:8765/ and log in with the password {password}")
    return 0 if result.ok else 1


def show_webhook_path(db, world, sandbox, timeout: float = 120) -> str:
    """Move the store a quarter of an hour on: its signed webhooks reach the receiver, the processor
    syncs and builds, and the changed orders show in fct_orders without waiting for a schedule."""
    from sandbox.woocommerce.render import render_order
    from webhooks.processor import Processor
    from webhooks.runners import InProcessRunner

    processor = Processor(db, InProcessRunner(db), debounce=1.0, poll=0.2).start()
    try:
        started = time.monotonic()
        changed = world.advance(0.25)["woocommerce"]
        sandbox.webhooks.drain()
        live = {oid: render_order(world.woocommerce.orders[oid])["status"] for oid in changed["orders"]
                if oid in world.woocommerce.orders and not world.woocommerce.orders[oid].trashed}
        while live and time.monotonic() - started < timeout:
            if _statuses(db, list(live)) == live:
                return (f"webhooks: {len(live)} WooCommerce orders changed in the sandbox reached fct_orders "
                        f"{time.monotonic() - started:.1f}s later, through the webhook path (no schedule)")
            time.sleep(0.5)
        return f"webhooks: the {len(live)} changed orders had not reached fct_orders after {timeout:.0f}s"
    finally:
        processor.stop()


def _statuses(db, order_ids: list[int]) -> dict[int, str]:
    with db.cursor() as cur:
        cur.execute(f"select order_key, source_status from {settings.schema('marts')}.fct_orders "
                    "where order_key = any(%s)", ([f"woocommerce:{oid}" for oid in order_ids],))
        return {int(key.split(":")[1]): status for key, status in cur.fetchall()}


def summary(result: PipelineResult, fresh: bool, seconds: float, docs_ok: bool) -> list[str]:
    lines = ["", f"{'source':<13}{'status':<9}{'rows':>8}{'api calls':>11}{'duration':>11}  load"]
    for s in result.syncs:
        kind = "full" if fresh else "incremental (changes only)"
        lines.append(f"{s.source:<13}{s.status:<9}{s.rows:>8}{s.api_calls:>11}{s.duration_ms / 1000:>10.1f}s  {kind}")
        for run in s.runs:
            lines.append(f"  {run.resource:<19}{run.rows_loaded:>8}{run.api_calls:>11}")
        if s.message:
            lines.append(f"  ! {s.message}")
    dbt = result.dbt
    if dbt is not None:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(dbt.counts.items()))
        lines.append(f"dbt build: {'ok' if dbt.success else 'FAILED'} ({counts})")
        lines.extend(f"  ! {failure}" for failure in dbt.failures[:5])
    quality = result.quality
    if quality is not None:
        scores = ", ".join(f"{name} {score:.1f}" for name, score in sorted(quality.scores.items()))
        lines.append(f"quality score: {scores}")
        lines.append(f"Data Docs: {quality.data_docs_path}")
    if docs_ok:
        lines.append(f"dbt docs:  {docs_path()}")
    lines.append(f"done in {seconds:.1f}s; run `make docs` to browse the docs, `seamline status` for health.")
    return lines
