"""Run dbt in-process against the configured database, one dbt at a time.

Inside a Prefect flow, prefect-dbt's runner makes every dbt node a task, so models and tests
show one by one in the UI; outside, plain dbtRunner.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError
from seamline.grants import current_hashed_role


@dataclass
class DbtResult:
    command: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)  # status -> nodes
    failures: list[str] = field(default_factory=list)


def target_dir() -> Path:
    """dbt's artifacts and docs site; one folder per tenant, whose builds may run at once."""
    prefix = settings.schema_prefix().strip("_")
    return settings.home() / "dbt" / (f"target-{prefix}" if prefix else "target")


def docs_path() -> Path:
    return target_dir() / "index.html"


def _node_tasks() -> bool:
    """dbt nodes as Prefect tasks (visible in the UI) inside a flow run that reports to a Prefect
    server (PREFECT_API_URL). Under the temporary server of a one-off command (`seamline demo`,
    `seamline run` without a server) nobody can ever look at them, and recording them cost
    about 40 s per build."""
    from prefect.context import FlowRunContext
    from prefect.settings import PREFECT_API_URL

    return FlowRunContext.get() is not None and bool(PREFECT_API_URL.value())


def loaded_sources(db: Database) -> list[str]:
    """Sources whose raw dataset holds at least one completed dlt load."""
    found = []
    with db.cursor() as cur:
        for source in settings.SOURCES:
            schema = settings.raw_schema(source)
            cur.execute("select to_regclass(%s)", (f'"{schema}"._dlt_loads',))
            if cur.fetchone()[0] is None:
                continue
            cur.execute(f'select exists (select 1 from "{schema}"._dlt_loads where status = 0)')
            if cur.fetchone()[0]:
                found.append(source)
    return found


def _refresh_pending(db: Database) -> list[str]:
    from seamline.ops import ensure_ops_schema

    ensure_ops_schema(db)
    with db.cursor() as cur:
        cur.execute(f"select source from {settings.schema(settings.OPS)}.refresh_pending")
        return [row[0] for row in cur.fetchall()]


def _invoke(args: list[str]):
    paths = ["--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
             "--target-path", str(target_dir()), "--log-path", str(settings.home() / "dbt" / "logs")]
    if args[0] == "build" and _node_tasks():
        from prefect_dbt import PrefectDbtRunner, PrefectDbtSettings

        runner = PrefectDbtRunner(
            settings=PrefectDbtSettings(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR,
                                        target_path=target_dir()),
            raise_on_failure=False, disable_assets=True)
        return runner.invoke([*args, "--log-path", str(settings.home() / "dbt" / "logs")])
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke(["--quiet", "--no-use-colors", *args, *paths])


def run_dbt(db: Database, *args: str) -> DbtResult:
    """Run a dbt command; concurrent callers (other processes included) wait their turn.

    Models of sources that have not landed are disabled (the `enabled_sources` var);
    WooCommerce, the store every mart starts from, must have landed."""
    os.environ.update(db.dbt_env())
    os.environ["SEAMLINE_HASHED_ROLE"] = current_hashed_role()  # grant_hashed_reads() after each mart
    sources = loaded_sources(db)
    if "woocommerce" not in sources:
        raise SeamlineError("nothing to transform yet: WooCommerce has not landed (run `seamline sync woocommerce`)")
    if args[0] == "build" and not settings.dbt_unit_tests() and not {"--resource-type", "--exclude-resource-type",
                                                                      "--resource-types"} & set(args):
        # dbt's advice: unit tests check model logic against fixed inputs, not the data, so they
        # belong in development and CI (`make test` runs every one), not in every production build
        args = (*args, "--exclude-resource-type", "unit_test")
    # `tenant`: models and seeds may differ per shop (`{% if var('tenant') == 'gallery' %}`)
    args = (*args, "--vars", json.dumps({"enabled_sources": sources, "tenant": settings.tenant() or "default"}))
    pending = _refresh_pending(db) if args[0] == "build" else []
    if pending and "--full-refresh" not in args:
        # a source was reloaded from scratch: incremental models must not keep its old rows
        args = (*args, "--full-refresh")
    lock = db.connect()
    lock.autocommit = True
    try:
        with lock.cursor() as cur:
            cur.execute("select pg_advisory_lock(hashtext(%s))", (settings.dbt_lock_key(),))
        result = _invoke(list(args))
    finally:
        lock.close()  # closing the session releases the lock
    if pending and result.success:
        with db.cursor() as cur:
            cur.execute(f"delete from {settings.schema(settings.OPS)}.refresh_pending where source = any(%s)",
                        (pending,))
    if result.exception is not None:
        lines = [line.strip() for line in str(result.exception).splitlines() if line.strip()]
        raise SeamlineError(f"dbt {args[0]} could not run: {' '.join(lines[:3])}")
    counts: dict[str, int] = {}
    failures = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status)
        counts[status] = counts.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append(f"{node_result.node.name}: {(node_result.message or status).strip()}")
    return DbtResult(args[0], bool(result.success), counts, failures)
