"""The pipeline flow behind `seamline run` and the daily schedule: syncs in parallel, then the
transform, then quality.

A source that fails (after an immediate retry) does not stop the others: it is marked stale in
`ops.pipeline_runs`, its failure is alerted and queued for a person, and the transform runs on
whatever landed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from prefect import flow

from flows.alerts import evaluate
from flows.dbt import DbtResult
from flows.ladder import SyncFailed, on_ladder
from flows.manual_queue import enqueue
from flows.quality import quality_flow
from flows.sync import sync_source_task
from flows.transform import transform_flow
from ingest.pipeline import available_sources
from ingest.processes import longest_first
from ingest.sync import SourceResult
from seamline import settings
from seamline.database import Database, get_database
from seamline.ops import ensure_ops_schema, utcnow


@dataclass
class PipelineResult:
    run_id: str
    syncs: list[SourceResult] = field(default_factory=list)
    stale_sources: list[str] = field(default_factory=list)
    dbt: DbtResult | None = None
    quality: object | None = None  # expectations.QualityResult

    @property
    def ok(self) -> bool:
        return not self.stale_sources and self.dbt is not None and self.dbt.success


def _record(db: Database, result: PipelineResult, trigger: str, started, status: str) -> None:
    ensure_ops_schema(db)
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(
            f"insert into {ops}.pipeline_runs (run_id, started_at, finished_at, status, trigger, stale_sources, "
            "dbt_status, quality_status) values (%s, %s, %s, %s, %s, %s, %s, %s) on conflict (run_id) do update set "
            "finished_at = excluded.finished_at, status = excluded.status, stale_sources = excluded.stale_sources, "
            "dbt_status = excluded.dbt_status, quality_status = excluded.quality_status",
            (result.run_id, started, utcnow() if status != "running" else None, status, trigger,
             result.stale_sources, None if result.dbt is None else ("ok" if result.dbt.success else "failed"),
             None if result.quality is None else "ok"))


@flow(name="pipeline", log_prints=True)
def pipeline_flow(sources: list[str] | None = None, full_refresh: bool = False,
                  trigger: str = "schedule") -> PipelineResult:
    db = get_database()
    started = utcnow()
    result = PipelineResult(uuid.uuid4().hex)
    _record(db, result, trigger, started, "running")
    # one immediate retry: the rest of the ladder belongs to the source's own schedule, not to
    # a pipeline that others are waiting on
    attempt = on_ladder(sync_source_task, [0])
    names = list(sources or available_sources())
    futures = {name: attempt.submit(name, full_refresh, trigger, result.run_id) for name in longest_first(db, names)}
    for name in names:
        try:
            result.syncs.append(futures[name].result())
        except SyncFailed as exc:
            result.stale_sources.append(name)
            if exc.result is not None:
                result.syncs.append(exc.result)
            item = enqueue(db, "sync", {"source": name, "full_refresh": full_refresh}, str(exc), exc.needs,
                           integration=name)
            print(f"{name} is stale this run: {exc} (manual queue item {item})")
    evaluate(db, sources=names)
    result.dbt = transform_flow()
    result.quality = quality_flow(run_id=result.run_id)
    _record(db, result, trigger, started, "success" if result.ok else "partial")
    return result
