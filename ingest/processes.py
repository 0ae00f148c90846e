"""Each sync in a process of its own, several at once.

A sync is CPU-bound Python (JSON, Arrow tables, dlt's extract): threads in one process share one
GIL, so five syncs on two cores ran no faster than one after another, and a long-lived worker
kept what its syncs' allocators held (bench/RESULTS.md). A child process per sync uses every
core and hands all its memory back when it exits. Children fork from a server process that
imported the sync's modules once (multiprocessing's forkserver), so a child starts in
milliseconds, not in the seconds the imports take.

A child that dies (killed, out of memory) is a failed, transient sync: the parent records it,
and the next sync finishes the load it left (ingest.sync). A child whose parent dies stops too,
as the sync would have in the parent. `SEAMLINE_SYNC_PROCESSES` sets how many run at once; 0
runs syncs in the calling process. As with any multiprocessing start method but fork, a script
that syncs this way guards its entry point with `if __name__ == "__main__":` (the fork server
imports the caller's main module once).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from ingest.pipeline import SOURCE_MODULES
from ingest.sync import SourceResult, record_failure, sync_source
from seamline import settings
from seamline.database import Database, get_database
from seamline.masking import mask_text
from seamline.ops import ensure_ops_schema, utcnow

# imported once by the fork server, so every child starts with them loaded: the caller's main
# module (as multiprocessing does by default), the sync, every source and what a sync imports on
# first use (pyarrow's conversions pull in pandas, dlt's credentials sqlalchemy): ~0.5 s a child
PRELOAD = ["__main__", "ingest.sync", *SOURCE_MODULES.values(), "ingest.reconcile", "pandas", "sqlalchemy",
           "pyarrow.parquet", "pyarrow.csv", "pyarrow.pandas_compat", "psycopg2.extras",
           "dlt.destinations.impl.postgres.postgres", "dlt.common.libs.pyarrow", "dlt.sources.helpers.requests"]

_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _slot() -> threading.BoundedSemaphore:
    """A process-wide limit of children at once: the pipeline flow's sync tasks are threads."""
    size = settings.sync_processes()
    with _slots_lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def sync_in_process(source: str, *, db: Database | None = None, **kwargs) -> SourceResult:
    """`ingest.sync.sync_source` in a child process (same arguments, same result)."""
    if settings.sync_processes() == 0:
        return sync_source(source, db=db, **kwargs)
    with _slot():
        return _run_child(source, db or get_database(), kwargs)


def sync_all(sources: list[str], *, db: Database | None = None, **kwargs) -> list[SourceResult]:
    """Every source at once (as many children as SEAMLINE_SYNC_PROCESSES allows), the longest
    first; results in the order asked."""
    if not sources:
        return []
    db = db or get_database()
    with ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="sync") as pool:
        futures = {name: pool.submit(sync_in_process, name, db=db, **kwargs) for name in longest_first(db, sources)}
        return [futures[name].result() for name in sources]


def longest_first(db: Database, sources: list[str]) -> list[str]:
    """`sources` by how long each one's last successful sync took, longest first; those never
    synced lead (a first sync is the longest). With fewer process slots than sources the longest
    sync then starts at once instead of last, and the run ends sooner."""
    ensure_ops_schema(db)
    with db.cursor() as cur:
        cur.execute(f"""
            select distinct on (source) source, duration_ms
            from (select run_id, source, max(finished_at) as finished_at, max(duration_ms) as duration_ms
                  from {settings.schema(settings.OPS)}.sync_runs
                  where status = 'success' and source = any(%s) group by run_id, source) as runs
            order by source, finished_at desc""", (list(sources),))
        took = dict(cur.fetchall())
    return sorted(sources, key=lambda name: -(took.get(name) or float("inf")))


def _run_child(source: str, db: Database, kwargs: dict) -> SourceResult:
    context = _context()
    kwargs = {**kwargs, "run_id": kwargs.get("run_id") or uuid.uuid4().hex, "db": db}
    results, results_end = context.Pipe(duplex=False)
    lifeline_end, lifeline = context.Pipe(duplex=False)
    started = utcnow()
    child = context.Process(target=_child, args=(results_end, lifeline_end, dict(os.environ), source, kwargs),
                            name=f"seamline-sync-{source}")
    child.start()
    results_end.close()
    lifeline_end.close()
    try:
        outcome, payload = results.recv()
    except EOFError:  # the child died before it could answer
        child.join()
        ensure_ops_schema(db)  # it may have died before it made them
        return record_failure(db, source, kwargs["run_id"], kwargs.get("trigger", "manual"), started,
                              f"{source}: the sync process died ({_how(child.exitcode)}); "
                              "the next sync finishes the load it left")
    except BaseException:  # interrupted (cancelled run, Ctrl-C): the sync stops with us
        child.terminate()
        child.join()
        raise
    finally:
        results.close()
    child.join()
    lifeline.close()
    if outcome == "error":
        raise payload
    return payload


def _how(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


def _child(results, lifeline, environ: dict[str, str], source: str, kwargs: dict) -> None:
    """Runs in the child: the parent's environment as it is now (the fork server's is older)."""
    os.environ.clear()
    os.environ.update(environ)
    threading.Thread(target=_stop_when_orphaned, args=(lifeline,), daemon=True).start()
    from seamline.runtime import configure

    configure()
    try:
        outcome = ("result", sync_source(source, **kwargs))
    except BaseException as exc:  # sync_source records its own failures; this is anything else
        outcome = ("error", _portable(exc))
    results.send(outcome)
    results.close()


def _stop_when_orphaned(lifeline) -> None:
    """The parent holds the other end until it has our answer: end of file means it is gone."""
    try:
        lifeline.recv()
    except (EOFError, OSError):
        os._exit(1)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling; otherwise its type and (masked) message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(mask_text(f"{type(exc).__name__}: {exc}"))
