"""`seamline outbound [JOB...] [--dry-run]`: run the outbound jobs and print one line each.

A dry run prints the plan (job, count, the first local keys: no personal data) and writes
nothing. A real run sends each job's vendor rejections to the manual queue (`seamline queue`,
`seamline retry <id>`); the exit code is 1 when any row was rejected or a job failed.
"""

from __future__ import annotations

import sys

from outbound.jobs import enabled, get, run_named
from outbound.writer import WriteFailed
from seamline.database import Database


def run_outbound(db: Database, jobs: list[str], dry_run: bool = False) -> int:
    names = list(jobs) or enabled(db)
    for name in names:
        get(name)  # an unknown name stops the run before anything is written
    if not names:
        print("outbound: no job is enabled (no outbound model is built yet: run `seamline transform`)")
        return 0
    failed = False
    for name in names:
        try:
            result = run_named(db, name, dry_run=dry_run)
        except WriteFailed as exc:
            if not dry_run:
                from flows.outbound import queue_failure

                item = queue_failure(db, name, exc)
                print(f"seamline: {exc} (manual queue item {item})", file=sys.stderr)
            else:
                print(f"seamline: {exc}", file=sys.stderr)
            failed = True
            continue
        print(result.line())
        if result.rejected:
            from flows.outbound import queue_rejections

            items = queue_rejections(db, name, result)
            print(f"  {len(items)} rejected row(s) in the manual queue: items {', '.join(map(str, items))}")
            failed = True
    return 1 if failed else 0
