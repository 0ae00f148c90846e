"""An incremental dbt build after the world moves equals a full refresh: same rows, same values."""

from __future__ import annotations

from datetime import datetime, timezone

from conftest import model_rows, serve_world

from flows.dbt import run_dbt
from ingest.sync import sync_source
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
MODELS = {
    "intermediate.int_web_orders": "order_id",
    "intermediate.int_web_order_lines": "order_line_id",
    "marts.fct_orders": "order_key",
    "marts.fct_order_lines": "order_line_key",
    "marts.dim_customers": "customer_key",
    "intermediate.int_klaviyo_events": "event_id",
    "marts.fct_customer_engagement": "customer_key",
}


def snapshot(db) -> dict[str, list[tuple]]:
    return {model: model_rows(db, model, key) for model, key in MODELS.items()}


def test_incremental_build_after_changes_equals_a_full_refresh(database, monkeypatch):
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__RECONCILE_INTERVAL_HOURS", "0")
    world = World(seed=61, scale=400, start=START)
    with serve_world(world):
        for source in ("woocommerce", "klaviyo"):
            assert sync_source(source, full_refresh=True, db=database).ok
        assert run_dbt(database, "build", "--full-refresh").success
        changes = world.advance(12)["woocommerce"]
        for source in ("woocommerce", "klaviyo"):
            assert sync_source(source, db=database).ok
    incremental = run_dbt(database, "build")
    assert incremental.success, incremental.failures
    after_increment = snapshot(database)
    # the build redid only the orders that changed (new, updated, trashed, force-deleted): a
    # row's built_at is the start of the build that last wrote it
    with database.cursor() as cur:
        cur.execute("select order_id from intermediate.int_web_orders "
                    "where built_at = (select max(built_at) from intermediate.int_web_orders)")
        rebuilt = {row[0] for row in cur.fetchall()}
        cur.execute("select count(*) from intermediate.int_web_order_lines "
                    "where built_at = (select max(built_at) from intermediate.int_web_order_lines)")
        rebuilt_lines = cur.fetchone()[0]
    assert rebuilt == changes["orders"] | changes["orders_deleted"]
    assert rebuilt_lines == sum(len(world.woocommerce.orders[oid].lines) for oid in rebuilt
                                if oid in world.woocommerce.orders)
    assert run_dbt(database, "build", "--full-refresh").success
    after_full = snapshot(database)
    for model in MODELS:
        assert after_increment[model] == after_full[model], model
    # and the changes are really there: the trashed and the force-deleted order are flagged
    gone = changes["orders_deleted"] | {o.id for o in world.woocommerce.orders.values() if o.trashed}
    deleted = {row[0] for row in after_full["marts.fct_orders"] if row[-1]}
    assert deleted == {f"woocommerce:{oid}" for oid in gone}


def test_a_full_refresh_sync_after_a_build_drops_and_rebuilds_the_views(database):
    world = World(seed=62, scale=150, start=START)
    with serve_world(world):
        assert sync_source("woocommerce", full_refresh=True, db=database).ok
        assert run_dbt(database, "build").success
        # the staging views depend on the raw tables that a full refresh drops
        result = sync_source("woocommerce", full_refresh=True, db=database)
    assert result.status == "success", result.message
    assert run_dbt(database, "build").success
    with database.cursor() as cur:
        cur.execute("select count(*) from staging.stg_woocommerce__orders")
        assert cur.fetchone()[0] == len(world.woocommerce.orders)
