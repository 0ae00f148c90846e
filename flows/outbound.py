"""One outbound flow, run per job: the job task climbs the retry ladder on transient failures
(the vendor kept failing, a dropped connection); a vendor's validation error goes straight to the
manual queue with the vendor's message, one item per rejected row, replayable with
`seamline retry <id>` (the flow again, for that row only)."""

from __future__ import annotations

from prefect import flow, task

from flows.ladder import SyncFailed, on_ladder
from flows.manual_queue import enqueue
from outbound.jobs import get, run_named
from outbound.writer import JobResult, WriteFailed
from seamline.database import Database, get_database

FLOW_NAME = "outbound"


def queue_rejections(db: Database, job: str, result: JobResult) -> list[int]:
    """One manual-queue item per rejected row, with the vendor's message (PII masked)."""
    vendor = get(job).vendor
    return [enqueue(db, FLOW_NAME, {"job": job, "local_keys": [local]}, message,
                    f"{vendor} refused {local}: correct the record (or the setting the message names), "
                    "then `seamline retry` the item", integration=vendor)
            for local, message in result.rejected]


def queue_failure(db: Database, job: str, exc: Exception) -> int:
    transient = getattr(exc, "transient", False)
    needs = ("the vendor kept failing after every retry; replay when it answers again" if transient
             else "fix what the message names (settings, a missing dbt build), then replay")
    return enqueue(db, FLOW_NAME, {"job": job}, str(exc), needs, integration=get(job).vendor)


@task(name="outbound", task_run_name="outbound {job}")
def outbound_job_task(job: str, local_keys: list[str] | None = None) -> JobResult:
    try:
        return run_named(get_database(), job, only=local_keys)
    except WriteFailed as exc:
        raise SyncFailed(str(exc), transient=exc.transient,
                         needs="replay when the vendor answers again" if exc.transient else "fix and replay") from None


def enqueue_crashed(flow, flow_run, state) -> None:
    """A crashed run (the worker died) goes to the manual queue; replaying it skips what was mapped."""
    params = {"job": flow_run.parameters["job"]}
    enqueue(get_database(), FLOW_NAME, params, f"the run crashed: {state.message or state.name}",
            "the worker died mid-run; replay it (rows already written are skipped by their keys)",
            integration=get(params["job"]).vendor)


@flow(name=FLOW_NAME, flow_run_name="outbound-{job}", on_crashed=[enqueue_crashed])
def outbound_flow(job: str, local_keys: list[str] | None = None, trigger: str = "schedule",
                  use_ladder: bool = True) -> dict:
    get(job)
    db = get_database()
    attempt = on_ladder(outbound_job_task, None if use_ladder else [])
    replay = trigger == "retry"  # `seamline retry` counts a failed replay on its own item
    try:
        result = attempt(job, local_keys)
    except SyncFailed as exc:
        if not replay:
            item = queue_failure(db, job, exc)
            raise SyncFailed(f"{exc} (manual queue item {item})", transient=exc.transient, needs=exc.needs) from None
        raise
    summary = {"job": job, "status": result.status, "planned": result.planned, "written": result.written,
               "skipped": result.skipped, "rejected": len(result.rejected), "message": result.message}
    if result.rejected:
        items = [] if replay else queue_rejections(db, job, result)
        first = result.rejected[0][1]
        raise SyncFailed(f"outbound {job}: {len(result.rejected)} row(s) rejected by {get(job).vendor} "
                         f"(first: {first}){f'; manual queue items {items}' if items else ''}",
                         transient=False, needs="correct the rejected records, then `seamline retry` the items")
    return summary
