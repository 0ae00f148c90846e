"""The pipeline flow under Prefect: sync, then dbt build, then the quality checkpoint."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from conftest import scalar, serve_world

from sandbox.woocommerce.store import order_totals
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
REVENUE_STATUSES = {"processing", "completed"}


def world_revenue(world) -> Decimal:
    return sum((order_totals(o)["total"] for o in world.woocommerce.orders.values()
                if not o.trashed and o.status in REVENUE_STATUSES), Decimal(0))


@pytest.fixture(scope="module")
def pipeline_run(database, prefect_harness):
    from flows.pipeline import pipeline_flow

    world = World(seed=31, scale=300, start=START)
    with serve_world(world):
        first = pipeline_flow(sources=["woocommerce"], full_refresh=True, trigger="test")
        yield world, first


def test_pipeline_lands_models_and_scores(pipeline_run, database):
    world, result = pipeline_run
    assert [s.status for s in result.syncs] == ["success"]
    assert result.dbt.success, result.dbt.failures
    assert result.dbt.counts.get("error", 0) == 0 and result.dbt.counts.get("fail", 0) == 0
    orders = world.woocommerce.orders
    assert scalar(database, "select count(*) from marts.fct_orders where channel = 'web'") == len(orders)
    assert scalar(database, "select sum(order_total) from marts.fct_orders where channel = 'web' and counts_as_revenue") == world_revenue(world)
    assert scalar(database, "select count(*) from marts.fct_orders where order_status is null") == 0
    assert result.quality.scores["woocommerce"] == 100.0
    assert result.quality.data_docs_path.exists()
    assert scalar(database, "select count(*) from ops.quality_scores where run_id = %s and integration = 'woocommerce' "
                            "and dimension = 'overall' and score = 100", result.run_id) == 1


def test_incremental_pipeline_run_matches_the_world(pipeline_run, database, monkeypatch):
    from flows.pipeline import pipeline_flow

    world, _ = pipeline_run
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__RECONCILE_INTERVAL_HOURS", "0")
    changes = world.advance(12)["woocommerce"]
    with serve_world(world):
        second = pipeline_flow(sources=["woocommerce"], trigger="test")
    assert second.ok
    assert {r.resource: r.rows_loaded for r in second.syncs[0].runs}["orders"] == len(changes["orders"])
    assert scalar(database, "select sum(order_total) from marts.fct_orders where channel = 'web' and counts_as_revenue") == world_revenue(world)
    trashed = sum(1 for o in world.woocommerce.orders.values() if o.trashed)
    gone = len(world.woocommerce.deleted_orders)  # force-deleted: found by key reconciliation
    assert gone == 1 and changes["orders_deleted"] == world.woocommerce.deleted_orders
    assert scalar(database, "select count(*) from marts.fct_orders where channel = 'web' and is_deleted") == trashed + gone
    assert scalar(database, "select bool_and(is_deleted) from marts.fct_orders where order_key = any(%s)",
                  [f"woocommerce:{oid}" for oid in world.woocommerce.deleted_orders])
