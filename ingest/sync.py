"""Run a source's sync: one writer per dataset, finish what a crash left, extract, load, record.

dlt's `run()` on a pipeline with pending packages only finishes them and returns, so a
sync first completes any package a killed process left behind and then extracts anew:
one invocation after a crash both recovers and syncs.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.columnar import prune_replaced_children
from ingest.http import AuthError, MalformedResponse, RateLimitExhausted, SourceError, SyncStats
from ingest.indexes import analyze_new_tables, ensure_merge_indexes
from ingest.memory import release_freed_memory
from ingest.pipeline import SOURCE_MODULES, make_pipeline, make_source, reconciler
from ingest.resume import reload_interrupted_tables
from seamline import settings
from seamline.database import Database, get_database
from seamline.erasure import keep_out, keep_out_after_failure
from seamline.errors import SeamlineError
from seamline.masking import mask_text
from seamline.ops import ResourceRun, ensure_ops_schema, quarantine, record_sync_runs, utcnow

log = logging.getLogger(__name__)


@dataclass
class SourceResult:
    source: str
    status: str  # success | failed | stopped | busy
    runs: list[ResourceRun] = field(default_factory=list)
    message: str = ""
    recovered_packages: int = 0
    run_id: str = ""
    transient: bool = True  # for a failure: could waiting and retrying help?
    needs: str = ""  # for a failure: what a person must do before a replay can work

    @property
    def rows(self) -> int:
        return sum(r.rows_loaded for r in self.runs)

    @property
    def api_calls(self) -> int:
        return sum(r.api_calls for r in self.runs)

    @property
    def duration_ms(self) -> int:
        return max((r.duration_ms or 0 for r in self.runs), default=0)

    @property
    def ok(self) -> bool:
        return self.status == "success"


@contextlib.contextmanager
def dataset_lock(db: Database, source: str, wait_seconds: float) -> Iterator[bool]:
    """Only one pipeline may write a dataset: dlt's staging tables are shared, and two merges at
    once can duplicate or drop rows. A Postgres advisory lock holds across processes and
    machines, and dies with the connection if the holder is killed."""
    conn = db.connect()
    conn.autocommit = True
    key = f"seamline.sync.{settings.raw_schema(source)}"
    deadline = time.monotonic() + wait_seconds
    try:
        with conn.cursor() as cur:
            while True:
                cur.execute("select pg_try_advisory_lock(hashtext(%s))", (key,))
                if cur.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.5)
            try:
                yield True
            finally:
                cur.execute("select pg_advisory_unlock(hashtext(%s))", (key,))
    finally:
        conn.close()


def _reason(exc: BaseException) -> tuple[str, type | None]:
    """The operator-facing reason buried in dlt's wrapped exceptions."""
    known = _find(exc, SeamlineError)
    if known is not None:
        return str(known), type(known)
    innermost = exc
    while (inner := getattr(innermost, "exception", None) or innermost.__cause__ or innermost.__context__):
        innermost = inner
    lines = [line.strip() for line in str(innermost).strip().splitlines() if line.strip()]
    return mask_text(f"{type(innermost).__name__}: {lines[0] if lines else ''}"), None


def _classify(source: str, kind: type | None, message: str) -> tuple[bool, str]:
    """(transient, what a person must do) for a failure of this kind."""
    prefix = f"SOURCES__{source.upper()}__"
    if kind is AuthError:
        return False, f"fix the credentials ({prefix}...), then replay"
    if kind is SourceError and "rejected the request" in message:  # a 4xx the vendor will repeat
        return False, f"check the source's settings ({prefix}BASE_URL) and the vendor's message, then replay"
    if kind is MalformedResponse:
        return True, "the vendor sent unreadable pages (kept in ops.quarantine); replay once it answers normally"
    if kind is RateLimitExhausted:
        return True, "wait for the vendor's limit to reset; the next run resumes from the cursor"
    return True, "replay; if it keeps failing, read the error and the run record in ops.sync_runs"


def _find(exc: BaseException, kind: type):
    seen = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return None


def _cursors(pipeline, source: str) -> dict[str, str | None]:
    resources = pipeline.state.get("sources", {}).get(source, {}).get("resources", {})
    return {name: (state.get("cursor") or {}).get("last_value") for name, state in resources.items()}


def _columns(pipeline) -> dict[str, set[str]]:
    if not pipeline.default_schema_name:
        return {}
    return {name: set(table.get("columns", {})) for name, table in pipeline.default_schema.tables.items()}


def _schema_changes(before: dict[str, set[str]], after: dict[str, set[str]], resource: str) -> list[dict]:
    """New columns on tables that existed before; dlt's variant columns mark a type change."""
    changes = []
    for table, columns in sorted(after.items()):
        if table != resource and not table.startswith(f"{resource}__"):
            continue
        if table not in before:
            if before:
                changes.append({"table": table, "change": "new_table"})
            continue
        for column in sorted(columns - before[table]):
            kind = "type_change" if "__v_" in column else "new_column"
            changes.append({"table": table, "column": column, "change": kind})
    return changes


def drop_dependent_views(db: Database, schema: str) -> list[str]:
    """Views (dbt staging) built on a raw dataset stop dlt from dropping its tables for a full
    refresh; drop them (the next transform rebuilds them; mart tables are untouched)."""
    with db.cursor() as cur:
        cur.execute("""
            select distinct view_ns.nspname, view_class.relname
            from pg_depend as dep
            inner join pg_rewrite as rule on dep.objid = rule.oid
            inner join pg_class as view_class on rule.ev_class = view_class.oid
            inner join pg_namespace as view_ns on view_class.relnamespace = view_ns.oid
            inner join pg_class as raw_table on dep.refobjid = raw_table.oid
            inner join pg_namespace as raw_ns on raw_table.relnamespace = raw_ns.oid
            where raw_ns.nspname = %s and view_class.oid <> raw_table.oid and view_ns.nspname <> %s
        """, (schema, schema))
        views = [f'"{ns}"."{name}"' for ns, name in cur.fetchall()]
        for view in views:
            cur.execute(f"drop view if exists {view} cascade")
    if views:
        log.warning("full refresh of %s: dropped %d dependent view(s); the next transform rebuilds them",
                    schema, len(views))
    return views


def finish_pending(pipeline) -> list[str]:
    """Complete the load packages a crashed run left behind; returns their load ids."""
    pending = len(pipeline.list_extracted_load_packages()) + len(pipeline.list_normalized_load_packages())
    if not pending:
        return []
    log.warning("%s: finishing %d load package(s) left by an interrupted run", pipeline.pipeline_name, pending)
    pipeline.normalize()
    reload_interrupted_tables(pipeline)
    return list(pipeline.load().loads_ids)


def _columnar(source: str) -> tuple[str, ...]:
    return getattr(importlib.import_module(SOURCE_MODULES[source]), "COLUMNAR_RESOURCES", ())


def first_loads(db: Database, source: str, dlt_source, full_refresh: bool) -> list[str]:
    """Set the columnar resources whose tables this run creates, re-creates or finds empty to
    append: their rows go into the final tables with one COPY instead of a COPY into staging and
    a merge into the final tables, with the same result (a load holds one version of a record,
    ingest/cursor.py). Every later load merges again. Returns their names."""
    schema = settings.raw_schema(source)
    appending = []
    for name in _columnar(source):
        resource = dlt_source.resources.get(name)
        if resource is None or not resource.selected:
            continue
        if not full_refresh:
            with db.cursor() as cur:
                cur.execute("select table_name from information_schema.tables where table_schema = %s "
                            "and (table_name = %s or table_name like %s)", (schema, name, f"{name}\\_\\_%"))
                tables = [table for (table,) in cur.fetchall()]
                held = False
                for table in tables:
                    cur.execute(f'select exists (select 1 from "{schema}"."{table}")')
                    held = held or cur.fetchone()[0]
            if held:
                continue
        resource.apply_hints(write_disposition="append")
        appending.append(name)
    return appending


def prune_children(db: Database, source: str, load_ids: list[str]) -> None:
    """Columnar resources merge child tables on their own (ingest/columnar.py): drop the child
    rows of records these loads replaced whose lists came back empty."""
    for root in _columnar(source):
        prune_replaced_children(db, settings.raw_schema(source), root, load_ids)


def layout_changed(pipeline, source: str) -> bool:
    """A dataset loaded before a resource went columnar holds its child tables as dlt nested
    tables; their rows cannot be merged the new way, so the source is reloaded in full once."""
    roots = set(_columnar(source))
    if not roots or not pipeline.default_schema_name:
        return False
    return any(table.get("parent") and name.split("__")[0] in roots
               for name, table in pipeline.default_schema.tables.items())


# a sync that loaded fewer rows freed little; a full collection costs ~0.1 s a call in a busy worker
RELEASE_AFTER_ROWS = 50_000


def sync_source(source: str, *, full_refresh: bool = False, trigger: str = "manual",
                run_id: str | None = None, db: Database | None = None) -> SourceResult:
    db = db or get_database()
    ensure_ops_schema(db)
    run_id = run_id or uuid.uuid4().hex
    wait = float(os.environ.get("SEAMLINE_SYNC_LOCK_WAIT", "0"))
    with dataset_lock(db, source, wait) as acquired:
        if not acquired:
            return SourceResult(source, "busy", run_id=run_id, message=(
                f"{source}: another sync is writing {settings.raw_schema(source)}; not started "
                "(set SEAMLINE_SYNC_LOCK_WAIT=<seconds> to wait for it)"))
        result = _run_locked(source, db, full_refresh, trigger, run_id)
    if result.rows >= RELEASE_AFTER_ROWS:
        release_freed_memory()  # the next sync in this process starts from a low-water mark
    return result


def _run_locked(source: str, db: Database, full_refresh: bool, trigger: str, run_id: str) -> SourceResult:
    pipeline = make_pipeline(source, db)
    started = utcnow()
    stats = SyncStats()
    recovered = 0
    cursors_before: dict[str, str | None] = {}
    try:
        recovered_loads = finish_pending(pipeline)
        recovered = len(recovered_loads)
        if not full_refresh and layout_changed(pipeline, source):
            log.warning("%s: the raw layout changed in this version of Seamline; reloading it in full", source)
            full_refresh = True
        if full_refresh:
            drop_dependent_views(db, settings.raw_schema(source))
        cursors_before = {} if full_refresh else _cursors(pipeline, source)
        columns_before = _columns(pipeline)
        dlt_source = make_source(source, stats=stats)
        resources = list(dlt_source.selected_resources)
        first_loads(db, source, dlt_source, full_refresh)
        info = pipeline.run(dlt_source, refresh="drop_sources" if full_refresh else None)
        ensure_merge_indexes(db, settings.raw_schema(source), pipeline.default_schema)
        analyze_new_tables(db, settings.raw_schema(source))
        prune_children(db, source, recovered_loads + list(info.loads_ids))
        reconcile = reconciler(source)
        full_load = full_refresh or not any(cursors_before.values())
        flagged = reconcile(db, stats=stats, full_load=full_load) if reconcile else {}
        keep_out(db, source, recovered_loads + list(info.loads_ids))  # erased people stay out, before dbt
    except Exception as exc:  # one source failing must never stop the others
        message, kind = _reason(exc)
        bad_page = _find(exc, MalformedResponse)
        if bad_page is not None:
            quarantine(db, run_id, source, bad_page.resource, bad_page.url, str(bad_page), bad_page.body)
        return record_failure(db, source, run_id, trigger, started, message, kind, stats, cursors_before, recovered)

    finished = utcnow()
    row_counts = pipeline.last_trace.last_normalize_info.row_counts if pipeline.last_trace.last_normalize_info else {}
    cursors_after = _cursors(pipeline, source)
    columns_after = _columns(pipeline)
    runs = []
    for name in resources:
        counters = stats.of(name)
        runs.append(ResourceRun(
            source, name, started_at=started, finished_at=finished, status="success",
            rows_loaded=row_counts.get(name, 0), api_calls=counters.api_calls, retries=counters.retries,
            errors=counters.errors, cursor_before=cursors_before.get(name), cursor_after=cursors_after.get(name),
            schema_changes=_schema_changes(columns_before, columns_after, name),
            deletes_flagged=flagged.get(name, 0),
        ))
    record_sync_runs(db, run_id, runs, trigger)
    if full_refresh:
        with db.cursor() as cur:
            cur.execute(f"insert into {settings.schema(settings.OPS)}.refresh_pending (source) values (%s) "
                        "on conflict (source) do update set requested_at = now()", (source,))
    return SourceResult(source, "success", runs, "", recovered, run_id)


def record_failure(db: Database, source: str, run_id: str, trigger: str, started, message: str,
                   kind: type | None = None, stats: SyncStats | None = None,
                   cursors_before: dict[str, str | None] | None = None, recovered: int = 0) -> SourceResult:
    """A sync that did not finish: its runs in ops.sync_runs, erased people kept out of what landed."""
    status = "stopped" if kind is RateLimitExhausted else "failed"
    finished = utcnow()
    stats = stats or SyncStats()
    cursors_before = cursors_before or {}
    names = list(stats.resources) or ["*"]
    runs = [ResourceRun(source, name, started_at=started, finished_at=finished, status=status,
                        api_calls=stats.of(name).api_calls, retries=stats.of(name).retries,
                        errors=max(1, stats.of(name).errors), error_message=message,
                        cursor_before=cursors_before.get(name), cursor_after=cursors_before.get(name))
            for name in names]
    record_sync_runs(db, run_id, runs, trigger)
    keep_out_after_failure(db, source)  # part of the load may have landed
    transient, needs = _classify(source, kind, message)
    return SourceResult(source, status, runs, message, recovered, run_id, transient, needs)


def sync_sources(sources: list[str], **kwargs) -> list[SourceResult]:
    """Sync each source in turn; a failure is recorded and the next source still runs."""
    return [sync_source(name, **kwargs) for name in sources]
