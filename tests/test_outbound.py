"""Outbound sync end to end: the outbound_* marts against the sandbox's write endpoints (real
sandbox over HTTP, real dlt syncs, real embedded Postgres, real dbt builds, Prefect for the flow),
checked against the sandbox world's own records.

The tests share one world and run in order: a dry run first (nothing may change), then a vendor
validation error, a job killed between the vendor's answer and the map write, the re-run under
Xero's minute limit, and the reconciliation after a Xero sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import datetime, timezone

import pytest
from conftest import rows, scalar, serve_world

from sandbox.world import World
from seamline import settings

PREFIX = "outbound_t_"
START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
SOURCES = ("woocommerce", "klaviyo", "xero", "finale")


def marts() -> str:
    return settings.schema("marts")


def ops() -> str:
    return settings.schema("ops")


def world_counts(world) -> dict:
    """What the vendors hold: the counts a write would change."""
    return {
        "xero_invoices": len(world.xero.invoices),
        "xero_contacts": len(world.xero.contact_list),
        "xero_credit_notes": len(world.xero.credit_notes),
        "xero_statuses": Counter(inv.status for inv in world.xero.invoices),
        "klaviyo_profiles": len(world.klaviyo.profiles_by_id),
        "klaviyo_events": world.klaviyo.event_count,
    }


def invoices_per_order(world) -> Counter:
    """How many Xero invoices (live or voided) carry each web order's number as Reference."""
    return Counter(len(world.xero.invoices_for_reference(order.id)) for order in world.woocommerce.orders.values())


@pytest.fixture(scope="module")
def landed(database):
    """A world of its own under its own schema prefix, synced and built; served for the module."""
    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from seamline.ops import ensure_ops_schema

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
        mp.setenv("SEAMLINE_HTTP_BACKOFF_SECONDS", "0.05")
        with database.cursor() as cur:
            cur.execute("select nspname from pg_namespace where nspname like %s", (PREFIX + "%",))
            for (schema,) in cur.fetchall():
                cur.execute(f'drop schema "{schema}" cascade')
        ensure_ops_schema(database)
        world = World(seed=29, scale=250, start=START)
        world.advance(12)
        with serve_world(world) as server:
            for name in SOURCES:
                result = sync_source(name, full_refresh=True, db=database)
                assert result.status == "success", (name, result.message)
            build = run_dbt(database, "build", "--full-refresh")
            assert build.success, build.failures
            yield world, server


def test_dry_run_prints_the_plan_and_writes_nothing(landed, database, capsys):
    from outbound.cli import run_outbound

    world, _ = landed
    before = world_counts(world)
    missing = scalar(database, f"select count(*) from {marts()}.outbound_xero_invoices")
    assert missing > 0  # the world's bookkeeping integration left some web orders uninvoiced

    assert run_outbound(database, [], dry_run=True) == 0
    out = capsys.readouterr().out
    assert f"xero_invoices: {missing} to write (dry run): woocommerce:" in out
    assert "klaviyo_profiles:" in out and "@" not in out  # local keys only: no email in the plan
    assert world_counts(world) == before
    assert scalar(database, "select to_regclass(%s)", f"{ops()}.outbound_log") is None  # not even the table


def test_a_validation_error_goes_to_the_manual_queue_with_xeros_message(landed, database, prefect_harness,
                                                                        monkeypatch):
    from flows.ladder import SyncFailed
    from flows.manual_queue import get, open_items
    from flows.outbound import outbound_flow

    world, _ = landed
    order_key, number = rows(database, f"select order_key, order_number from {marts()}.outbound_xero_invoices "
                                       "order by order_id limit 1")[0]
    monkeypatch.setenv("SEAMLINE_XERO_SALES_ACCOUNT", "999")  # no such account in the organisation
    with pytest.raises(SyncFailed, match="rejected by xero"):
        outbound_flow(job="xero_invoices", local_keys=[order_key], use_ladder=False)

    items = [i for i in open_items(database) if i.flow_name == "outbound"]
    assert len(items) == 1
    item = items[0]
    assert item.parameters == {"job": "xero_invoices", "local_keys": [order_key]}
    assert "Account code '999' is not a valid code" in item.error and item.integration == "xero"
    logged = rows(database, f"select outcome, response_status, error_message, request::text from "
                            f"{ops()}.outbound_log where job = 'xero_invoices'")
    assert [(o, s) for o, s, _, _ in logged] == [("rejected", 400)]
    assert "Account code '999'" in logged[0][2] and "@" not in logged[0][3]
    assert world.xero.invoices_for_reference(number) == []  # nothing was created

    # fixed: the replay (what `seamline retry <id>` runs) writes the one invoice
    monkeypatch.delenv("SEAMLINE_XERO_SALES_ACCOUNT")
    summary = outbound_flow(**get(database, item.item_id).parameters, trigger="retry", use_ladder=False)
    assert summary["written"] == 1 and summary["rejected"] == 0
    assert len(world.xero.invoices_for_reference(number)) == 1
    assert scalar(database, f"select count(*) from {ops()}.outbound_map where job = 'xero_invoices' "
                            "and local_key = %s and remote_id is not null", order_key) == 1


KILLER = textwrap.dedent("""
    import os, signal, sys
    from outbound.store import OutboundStore

    job, after = sys.argv[1], int(sys.argv[2])
    original = OutboundStore.record_written
    seen = []

    def record_written(self, name, *args, **kwargs):
        if name == job:
            seen.append(name)
            if len(seen) > after:  # the vendor has answered; die before the map knows
                os.kill(os.getpid(), signal.SIGKILL)
        return original(self, name, *args, **kwargs)

    OutboundStore.record_written = record_written
    from outbound.jobs import run_named
    from seamline.database import get_database

    run_named(get_database(), job)
""")


def run_killed(job: str, after: int) -> subprocess.CompletedProcess:
    """Run a job in a child process that SIGKILLs itself between the vendor's answer to its
    (after+1)-th write and the map write."""
    return subprocess.run([sys.executable, "-c", KILLER, job, str(after)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


def test_a_job_killed_mid_way_and_rerun_creates_no_duplicate(landed, database):
    from outbound.jobs import run_named

    world, server = landed
    todo = [r[0] for r in rows(database, f"select order_key from {marts()}.outbound_xero_invoices")]
    mapped = {r[0] for r in rows(database, f"select local_key from {ops()}.outbound_map "
                                           "where job = 'xero_invoices'")}
    remaining = [k for k in todo if k not in mapped]
    assert len(remaining) >= 3
    invoices_before = len(world.xero.invoices)

    child = run_killed("xero_invoices", after=1)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    # two invoices made in Xero, only the first one mapped
    assert len(world.xero.invoices) == invoices_before + 2
    assert scalar(database, f"select count(*) from {ops()}.outbound_map where job = 'xero_invoices'") == \
        len(mapped) + 1

    # the re-run under Xero's minute limit (5 calls a minute): waits out the 429s and finishes
    with serve_world(world, "xero:rate_limit=minute"):
        result = run_named(database, "xero_invoices")
    voids = run_named(database, "xero_voids")
    assert result.status == "success" and result.rejected == []
    # the killed run's unmapped invoice is found in Xero by its Reference and mapped, not made again
    assert (result.written, result.found) == (len(remaining) - 2, 1)
    assert result.retries >= 1  # at least one 429 waited out
    assert len(world.xero.invoices) == invoices_before + len(remaining)
    assert voids.status == "success" and voids.rejected == []
    cancelled = scalar(database, f"select count(*) from {marts()}.outbound_xero_voids")
    assert voids.written == cancelled

    logged = rows(database, f"select idempotency_key, count(*) from {ops()}.outbound_log where job = 'xero_invoices' "
                            "and outcome = 'written' group by 1 having count(*) > 1")
    assert logged == []


def test_every_web_order_has_exactly_one_invoice_after_a_xero_sync(landed, database):
    from flows.dbt import run_dbt
    from ingest.sync import sync_source

    world, _ = landed
    assert invoices_per_order(world) == Counter({1: len(world.woocommerce.orders)})
    assert sync_source("xero", db=database).status == "success"
    build = run_dbt(database, "build")
    assert build.success, build.failures
    statuses = dict(rows(database, f"select reconciliation_status, count(*) from "
                                   f"{marts()}.fct_order_invoice_reconciliation group by 1"))
    assert statuses.get("missing_invoice", 0) == 0
    assert sum(statuses.values()) == len(world.woocommerce.orders)
    assert scalar(database, f"select count(*) from {marts()}.outbound_xero_invoices") == 0
    assert scalar(database, f"select count(*) from {marts()}.outbound_xero_voids") == 0
    # the invoices made here are live or, for orders that did not happen, voided
    made = rows(database, f"select r.order_source_status, r.is_trashed, r.invoice_status from "
                          f"{ops()}.outbound_map as m inner join {marts()}.fct_order_invoice_reconciliation as r "
                          "on r.order_key = m.local_key where m.job = 'xero_invoices'")
    assert len(made) == scalar(database, f"select count(*) from {ops()}.outbound_map where job = 'xero_invoices'")
    for order_status, trashed, invoice_status in made:
        dead = trashed or order_status in ("cancelled", "failed", "refunded")
        assert (invoice_status == "voided") == dead, (order_status, invoice_status)


def test_klaviyo_profiles_killed_and_rerun_make_one_profile_per_email(landed, database):
    from outbound.jobs import run_named

    world, _ = landed
    todo = scalar(database, f"select count(*) from {marts()}.outbound_klaviyo_profiles")
    new = scalar(database, f"select count(*) from {marts()}.outbound_klaviyo_profiles where not profile_exists")
    assert todo >= 3
    before = len(world.klaviyo.profiles_by_id)

    child = run_killed("klaviyo_profiles", after=2)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    result = run_named(database, "klaviyo_profiles")
    assert result.status == "success" and result.written == todo - 2
    assert len(world.klaviyo.profiles_by_id) == before + new
    emails = Counter(p.email.strip().lower() for p in world.klaviyo.profiles_by_id.values() if p.email)
    assert max(emails.values()) == 1
    # what was written is what the golden record says
    for email, first, last in rows(database, f"select email, first_name, last_name from "
                                             f"{marts()}.outbound_klaviyo_profiles "
                                             "where first_name is not null and last_name is not null"):
        (profile,) = [p for p in world.klaviyo.profiles_by_id.values() if (p.email or "").lower() == email]
        assert (profile.first_name or None, profile.last_name or None) == (first, last)

    # the next sync and build find Klaviyo agreeing with the golden records: nothing left to write
    from flows.dbt import run_dbt
    from ingest.sync import sync_source

    assert sync_source("klaviyo", db=database).status == "success"
    assert run_dbt(database, "build", "--select", "+outbound_klaviyo_profiles").success
    assert scalar(database, f"select count(*) from {marts()}.outbound_klaviyo_profiles") == 0


def test_placed_order_events_resent_are_not_duplicated(landed, database):
    """Klaviyo already holds every order's Placed Order event (its WooCommerce integration sent them);
    events our copy lost are sent again with the same unique_id, and Klaviyo keeps one, a killed
    run's resent event included."""
    from flows.dbt import run_dbt
    from outbound.jobs import run_named

    world, _ = landed
    raw = settings.raw_schema("klaviyo")
    with database.cursor() as cur:  # our copy loses three orders' events (Klaviyo still has them)
        cur.execute(f"delete from {raw}.events where event_properties__order_id in (select event_properties__order_id "
                    f"from {raw}.events where event_properties__order_id is not null order by 1 limit 3)")
    assert run_dbt(database, "build", "--select", "+outbound_klaviyo_placed_orders").success
    assert scalar(database, f"select count(*) from {marts()}.outbound_klaviyo_placed_orders") == 3
    before = world.klaviyo.event_count
    # killed between Klaviyo's answer to the second event and the map write, then run again
    child = run_killed("klaviyo_placed_orders", after=1)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    result = run_named(database, "klaviyo_placed_orders")
    assert (result.written, result.skipped, result.rejected) == (2, 1, [])
    assert world.klaviyo.event_count == before  # the resent second event (same unique_id) kept once
    again = run_named(database, "klaviyo_placed_orders")
    assert again.written == 0 and again.skipped == 3


def test_a_paid_invoice_of_a_cancelled_order_gets_one_credit_note(landed, database):
    """The shop cancels a paid order in WooCommerce: its PAID invoice cannot be voided, so the job
    raises a credit note for the total, once."""
    import requests

    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from outbound.jobs import run_named

    world, _ = landed
    order = next(o for o in world.woocommerce.orders.values() if o.status == "completed"
                 and (inv := world.xero.invoice_for_order(o.id)) is not None and inv.status == "PAID"
                 and not world.xero.credit_notes_for_reference(o.id))
    answer = requests.put(f"{os.environ['SOURCES__WOOCOMMERCE__BASE_URL']}/orders/{order.id}",
                          json={"status": "cancelled"}, timeout=30,
                          auth=(os.environ["SOURCES__WOOCOMMERCE__CONSUMER_KEY"],
                                os.environ["SOURCES__WOOCOMMERCE__CONSUMER_SECRET"]))
    assert answer.status_code == 200, answer.text
    assert sync_source("woocommerce", db=database).status == "success"
    assert run_dbt(database, "build", "--select", "+outbound_xero_voids").success
    (row,) = rows(database, f"select action, amount_to_credit from {marts()}.outbound_xero_voids "
                            "where order_key = %s", f"woocommerce:{order.id}")
    total = world.xero.invoice_total(order.id)
    assert row == ("credit_note", total)

    result = run_named(database, "xero_voids")
    assert result.written == 1 and result.rejected == []
    (note,) = world.xero.credit_notes_for_reference(order.id)
    assert world.xero.invoice_for_order(order.id).status == "PAID"
    assert sync_source("xero", db=database).status == "success"
    assert run_dbt(database, "build", "--select", "+outbound_xero_voids").success
    assert scalar(database, f"select count(*) from {marts()}.outbound_xero_voids where order_key = %s",
                  f"woocommerce:{order.id}") == 0
    credited = scalar(database, f"select sum(total) from {settings.schema('staging')}.stg_xero__credit_notes "
                                "where reference = %s", str(order.id))
    assert credited == total and len(world.xero.credit_notes_for_reference(order.id)) == 1


def test_a_vendor_that_keeps_failing_climbs_the_ladder_then_reaches_the_manual_queue(landed, database,
                                                                                    prefect_harness, monkeypatch):
    from flows.ladder import SyncFailed
    from flows.manual_queue import open_items
    from flows.outbound import outbound_flow

    world, _ = landed
    stock = {pid: p.stock for pid, p in world.woocommerce.products.items()}
    monkeypatch.setenv("SEAMLINE_RETRY_LADDER", "0,0")  # two retries, at once
    with serve_world(world, "woocommerce:error_rate=1"), pytest.raises(SyncFailed, match="gave up"):
        outbound_flow(job="woocommerce_stock")
    (item,) = [i for i in open_items(database) if i.parameters == {"job": "woocommerce_stock"}]
    assert item.flow_name == "outbound" and "kept failing" in item.needs
    failed = rows(database, f"select outcome, count(*) from {ops()}.outbound_log where job = 'woocommerce_stock' "
                            "group by 1")
    assert failed == [("failed", 3)]  # the first try and the ladder's two retries
    assert {pid: p.stock for pid, p in world.woocommerce.products.items()} == stock


def test_stock_killed_mid_batch_and_rerun_sets_finale_stock_once(landed, database):
    """Finale is the stock authority: the store's stock becomes Finale's warehouse stock in units
    sold; a re-run after a crash sets the same levels again, it does not move them twice."""
    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from outbound.jobs import run_named

    world, _ = landed
    targets = dict(rows(database, f"select product_id, target_stock from {marts()}.outbound_woocommerce_stock"))
    assert len(targets) >= 3
    untouched = {pid: p.stock for pid, p in world.woocommerce.products.items() if pid not in targets}

    child = run_killed("woocommerce_stock", after=1)  # the batch answered, one of its rows mapped
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert {pid: world.woocommerce.products[pid].stock for pid in targets} == targets
    result = run_named(database, "woocommerce_stock")
    assert result.status == "success" and result.written == len(targets) - 1 and result.skipped == 1
    assert {pid: world.woocommerce.products[pid].stock for pid in targets} == targets
    assert {pid: p.stock for pid, p in world.woocommerce.products.items() if pid not in targets} == untouched

    # the next sync and build see the store agree with Finale: nothing left to push
    assert sync_source("woocommerce", db=database).status == "success"
    assert run_dbt(database, "build", "--select", "+outbound_woocommerce_stock").success
    assert scalar(database, f"select count(*) from {marts()}.outbound_woocommerce_stock") == 0


def test_web_sales_become_finale_sales_orders_once(landed, database):
    from outbound.jobs import run_named

    world, _ = landed
    wanted = dict(rows(database, f"select finale_order_id, jsonb_array_length(lines) from "
                                 f"{marts()}.outbound_finale_sales_orders"))
    assert len(wanted) >= 3
    before = set(world.finale.orders)

    child = run_killed("finale_sales_orders", after=2)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert len(set(world.finale.orders) - before) == 3  # three made, two mapped
    result = run_named(database, "finale_sales_orders")
    assert result.status == "success" and result.rejected == [] and result.written == len(wanted) - 2
    made = {oid: world.finale.orders[oid] for oid in set(world.finale.orders) - before}
    assert set(made) == set(wanted)  # every web sale once, under its deterministic orderId, nothing else
    for oid, order in made.items():
        assert order.type_id == "SALES_ORDER" and len(order.items) == wanted[oid]


def test_a_refused_finale_order_answered_200_is_a_rejection(landed, database):
    """Finale answers a refused order with HTTP 200 and an error body: it must not count as written."""
    from outbound.finale_sales_orders import FinaleSalesOrders
    from outbound.writer import Context, Rejected

    ctx = Context(database)
    row = {"order_key": "woocommerce:0", "finale_order_id": "WEB-TEST-UNKNOWN", "ordered_at": START,
           "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1, "unit_price": 1}]}
    with pytest.raises(Rejected, match="UNKNOWN_PRODUCT"):
        FinaleSalesOrders().send(ctx, row, "k")
    assert "WEB-TEST-UNKNOWN" not in landed[0].finale.orders


def test_delivery_updates_complete_orders_and_add_one_note(landed, database, tmp_path, monkeypatch):
    from outbound.jobs import run_named

    world, _ = landed
    woo = world.woocommerce
    feed = {d.order_id: d for d in world.delivery.deliveries()}
    assert any(d.status == "delivered" for d in feed.values())
    # a CSV drop too: an on-hold order delivered, a row with a status the courier does not use,
    # and an order number the store does not know
    on_hold = next(o for o in woo.orders.values() if o.status == "on-hold" and o.id not in feed)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "courier-1.csv").write_text(
        "order_number,status,tracking_number,carrier,updated_at\n"
        f"{on_hold.id},delivered,TRK1,AusPost,2026-11-01T20:00:00Z\n"
        f"{on_hold.id},lost,TRK1,AusPost,2026-11-01T21:00:00Z\n"
        "999999,delivered,TRK2,AusPost,2026-11-01T20:00:00Z\n")
    monkeypatch.setenv("SOURCES__DELIVERY__DROP_DIR", str(drop))
    open_before = {oid: woo.orders[oid].status for oid in feed if oid in woo.orders}

    child = run_killed("delivery_status", after=2)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    result = run_named(database, "delivery_status")
    assert result.status == "rejected" and [k for k, _ in result.rejected] == ["unknown:999999"]
    assert "no web order numbered 999999" in result.rejected[0][1]

    # the file was read, filed away, and its bad row kept with the reason
    assert not (drop / "courier-1.csv").exists() and (drop / "processed" / "courier-1.csv").exists()
    rejected = (drop / "processed" / "courier-1.rejected.csv").read_text()
    assert "lost" in rejected and "is not one of in_transit, delivered, failed" in rejected
    assert woo.orders[on_hold.id].status == "completed"

    for oid, delivery in feed.items():
        if oid not in woo.orders:
            continue
        if delivery.status == "delivered" and open_before[oid] in ("pending", "processing", "on-hold"):
            assert woo.orders[oid].status == "completed", oid
        elif open_before[oid] not in ("pending", "processing", "on-hold"):
            assert woo.orders[oid].status == open_before[oid], oid  # a delivery never revives a closed order
        notes = woo.order_notes(oid)
        assert len(notes) == 1, (oid, notes)  # the killed run's note was not posted twice
        if delivery.tracking_number:
            assert delivery.tracking_number in notes[0]["note"]
    again = run_named(database, "delivery_status")
    assert again.written == 0 and [k for k, _ in again.rejected] == ["unknown:999999"]


def test_the_demo_summary(landed, database):
    """What `seamline demo` will print: the jobs run against the served sandbox, Xero synced back,
    the marts rebuilt, and the reconciliation mart's count of uninvoiced web orders."""
    import re

    from outbound.demo import show_outbound

    world, _ = landed
    lines = show_outbound(database, world)
    assert re.fullmatch(r"outbound: \d+ invoices created in Xero, 0 web orders without an invoice "
                        r"\(fct_order_invoice_reconciliation\)", lines[0]), lines
    assert "Klaviyo profiles created or updated" in lines[1] and "@" not in "\n".join(lines)
    assert invoices_per_order(world) == Counter({1: len(world.woocommerce.orders)})


def test_the_command_reports_what_is_left_and_fails_on_rejections(landed, database, capsys):
    """`seamline outbound`: with everything written, a dry run plans nothing for Xero; a real run
    exits 1 while a row stays rejected (the courier's unknown order) and says where it went."""
    from outbound.cli import run_outbound

    assert run_outbound(database, ["xero_invoices", "xero_voids"], dry_run=True) == 0
    out = capsys.readouterr().out
    assert "xero_invoices: 0 to write (dry run)" in out and "xero_voids: 0 to write (dry run)" in out
    assert run_outbound(database, ["delivery_status", "woocommerce_stock"]) == 1
    out = capsys.readouterr().out
    assert "delivery_status: 1 to write, 0 written" in out and "1 rejected row(s) in the manual queue" in out
    assert "woocommerce_stock: 0 to write" in out
    with pytest.raises(Exception, match="unknown outbound job 'nope'"):
        run_outbound(database, ["xero_invoices", "nope"])
