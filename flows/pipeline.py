"""The pipeline flow behind `seamline run`: syncs in parallel, then `dbt build`, then quality.

Small tasks, a thin flow. A source that fails does not stop the others, and the transform
runs on whatever landed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from prefect import flow, task

from flows.dbt import DbtResult, run_dbt
from ingest.pipeline import available_sources
from ingest.sync import SourceResult, sync_source
from seamline.database import get_database


@dataclass
class PipelineResult:
    run_id: str
    syncs: list[SourceResult] = field(default_factory=list)
    dbt: DbtResult | None = None
    quality: object | None = None  # expectations.QualityRun

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.syncs) and self.dbt is not None and self.dbt.success


@task(name="sync", task_run_name="sync {source}")
def sync_task(source: str, full_refresh: bool = False, trigger: str = "manual", run_id: str | None = None) -> SourceResult:
    return sync_source(source, full_refresh=full_refresh, trigger=trigger, run_id=run_id)


@task(name="dbt build")
def transform_task() -> DbtResult:
    return run_dbt(get_database(), "build")


@task(name="quality checkpoint")
def quality_task(run_id: str):
    from expectations import run_quality

    return run_quality(get_database(), run_id=run_id)


@flow(name="seamline-pipeline", log_prints=True)
def pipeline_flow(sources: list[str] | None = None, full_refresh: bool = False,
                  trigger: str = "manual") -> PipelineResult:
    run_id = uuid.uuid4().hex
    names = list(sources or available_sources())
    futures = [sync_task.submit(name, full_refresh, trigger, run_id) for name in names]
    result = PipelineResult(run_id, [future.result() for future in futures])
    for sync in result.syncs:
        if not sync.ok:
            print(f"{sync.source} {sync.status}: {sync.message}")
    result.dbt = transform_task()
    result.quality = quality_task(run_id)
    return result
