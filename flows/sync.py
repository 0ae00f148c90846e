"""One sync flow, deployed once per source: the sync task climbs the retry ladder, and what the
ladder cannot fix goes to the manual queue with what a person must do."""

from __future__ import annotations

from prefect import flow, task
from prefect.concurrency.sync import concurrency

from flows.alerts import evaluate
from flows.ladder import SyncFailed, on_ladder
from flows.manual_queue import enqueue
from ingest.processes import sync_in_process
from ingest.sync import SourceResult
from seamline import settings
from seamline.database import get_database


@task(name="sync", task_run_name="sync {source}")
def sync_source_task(source: str, full_refresh: bool = False, trigger: str = "schedule",
                     run_id: str | None = None) -> SourceResult:
    # a global concurrency limit per source (created by `seamline serve`) keeps parallel runs
    # inside the vendor's rate limit; the dataset lock in ingest.sync guards writes regardless
    with concurrency(settings.tenant_scoped(f"source-{source}"), occupy=1, strict=False):
        result = sync_in_process(source, full_refresh=full_refresh, trigger=trigger, run_id=run_id)
    if result.status == "failed":
        raise SyncFailed(result.message, transient=result.transient, needs=result.needs, result=result)
    return result  # success, stopped (a day limit: the next run resumes) or busy


def enqueue_crashed(flow, flow_run, state) -> None:
    """Prefect never retries a Crashed run on its own: put it in the manual queue like any failure."""
    params = {"source": flow_run.parameters["source"],
              "full_refresh": bool(flow_run.parameters.get("full_refresh", False))}
    enqueue(get_database(), "sync", params, f"the run crashed: {state.message or state.name}",
            "the worker died mid-run; replay it (a sync finishes the interrupted load first)",
            integration=params["source"])


def _trigger() -> str:
    """`schedule` for a run the scheduler made, `manual` for the UI's Run button or the API."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return "schedule" if context is not None and context.flow_run.auto_scheduled else "manual"


@flow(name="sync", flow_run_name="sync-{source}", on_crashed=[enqueue_crashed])
def sync_flow(source: str, full_refresh: bool = False, trigger: str | None = None, use_ladder: bool = True) -> dict:
    trigger = trigger or _trigger()
    attempt = on_ladder(sync_source_task, None if use_ladder else [])
    db = get_database()
    try:
        result = attempt(source, full_refresh, trigger)
    except SyncFailed as exc:
        item = enqueue(db, "sync", {"source": source, "full_refresh": full_refresh}, str(exc), exc.needs,
                       integration=source)
        evaluate(db, sources=[source])
        raise SyncFailed(f"{exc} (manual queue item {item}: {exc.needs})", transient=exc.transient,
                         needs=exc.needs) from None
    evaluate(db, sources=[source])
    return {"source": source, "status": result.status, "rows": result.rows, "api_calls": result.api_calls,
            "message": result.message}
