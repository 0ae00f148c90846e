"""Make a load package a killed run left behind safe to finish.

dlt resumes a package by running its unfinished jobs again. A job killed after its COPY committed
but before dlt marked it done is then copied a second time: into a merge table's staging copy, or a
replace table, that is a duplicate `_dlt_id` (and the load fails on every retry); into an append
table, doubled rows. A COPY cannot be made idempotent, so the table's part of the package is
loaded again from scratch instead: its staging copy (merge) or the table itself (replace) is
emptied, an append table loses the rows of this load id, and all the table's data jobs go back to
`new_jobs`. The merge SQL of a table runs only once all its data jobs are done, so it cannot have
run for a table with an unfinished job.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from dlt.common.schema.utils import get_write_disposition
from dlt.common.storages.load_package import ParsedLoadJobFileName

log = logging.getLogger(__name__)

_FOLDERS = ("new_jobs", "started_jobs", "completed_jobs")


def reload_interrupted_tables(pipeline) -> list[str]:
    """Reset the tables whose jobs a killed load may have half-done; returns `load_id:table` of each."""
    root = Path(pipeline.working_dir) / "load" / "normalized"
    reset = []
    for package in sorted(root.iterdir()) if root.is_dir() else ():
        jobs = {folder: [_parsed(p) for p in (package / folder).glob("*") if p.is_file()] for folder in _FOLDERS}
        # started: interrupted on the first try; new with retries: a resume that failed already
        suspect = {job.table_name for job in jobs["started_jobs"] if job and job.file_format != "sql"}
        suspect |= {job.table_name for job in jobs["new_jobs"] if job and job.file_format != "sql" and job.retry_count}
        for table in sorted(suspect):
            _empty(pipeline, table, package.name)
            for folder in ("started_jobs", "completed_jobs"):
                for job in jobs[folder]:
                    if job and job.table_name == table and job.file_format != "sql":
                        os.replace(package / folder / job.file_name(), package / "new_jobs" / job.file_name())
            reset.append(f"{package.name}:{table}")
    if reset:
        log.warning("%s: reloading %s from their start (a killed load may have copied part of them)",
                    pipeline.pipeline_name, ", ".join(reset))
    return reset


def _parsed(path: Path) -> ParsedLoadJobFileName | None:
    try:
        return ParsedLoadJobFileName.parse(path.name)
    except Exception:  # a file dlt keeps beside its jobs
        return None


def _empty(pipeline, table: str, load_id: str) -> None:
    schema = pipeline.default_schema
    disposition = get_write_disposition(schema.tables, table) if table in schema.tables else "append"
    dataset = pipeline.dataset_name
    with pipeline.sql_client() as client:
        if disposition == "merge":
            target, where = f'"{dataset}_staging"."{table}"', None
        elif disposition == "replace":
            target, where = f'"{dataset}"."{table}"', None
        else:
            target, where = f'"{dataset}"."{table}"', "_dlt_load_id = %s"
        if client.execute_sql("select to_regclass(%s)", target)[0][0] is None:
            return  # never created: nothing was copied
        if where is None:
            client.execute_sql(f"truncate table {target}")
        elif "_dlt_load_id" in schema.tables.get(table, {}).get("columns", {}):
            client.execute_sql(f"delete from {target} where {where}", load_id)
