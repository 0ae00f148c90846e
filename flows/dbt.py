"""Run dbt in-process against the configured database (`dbt build`, `dbt docs generate`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError


@dataclass
class DbtResult:
    command: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)  # status -> nodes
    failures: list[str] = field(default_factory=list)


def target_dir() -> Path:
    return settings.home() / "dbt" / "target"


def docs_path() -> Path:
    return target_dir() / "index.html"


def run_dbt(db: Database, *args: str) -> DbtResult:
    from dbt.cli.main import dbtRunner

    os.environ.update(db.dbt_env())
    argv = [
        *args,
        "--project-dir", str(settings.DBT_PROJECT_DIR),
        "--profiles-dir", str(settings.DBT_PROJECT_DIR),
        "--target-path", str(target_dir()),
        "--log-path", str(settings.home() / "dbt" / "logs"),
    ]
    result = dbtRunner().invoke(["--quiet", "--no-use-colors", *argv])
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
