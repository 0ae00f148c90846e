"""Keep GX's generated history bounded: validation results and their Data Docs pages of old runs go.

GX keeps every run's results under gx/uncommitted/ and rebuilds the Data Docs index from all of
them once per validation, so without pruning each run gets slower and the folder grows by about
half a megabyte. The lasting history is ops.quality_results / ops.quality_scores; Data Docs show
the recent runs in detail.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

KEEP_RUNS = 10
"""Runs whose validation results and Data Docs pages are kept (the current run included)."""

# GX stores a result at <suite path>/<run name>/<run time>/<batch>.json (and .html in Data Docs).
_RUN_TIME_DIR = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")


def prune(gx_dir: Path, keep: int = KEEP_RUNS) -> int:
    """Delete all but the newest `keep` runs' results and pages; returns how many run folders went."""
    uncommitted = gx_dir / "uncommitted"
    roots = [uncommitted / "validations", uncommitted / "data_docs" / "local_site" / "validations"]
    run_dirs = [p for root in roots if root.is_dir() for p in root.rglob("*") if _is_run_dir(p)]
    newest = sorted({p.name for p in run_dirs}, reverse=True)[:keep]
    removed = 0
    for path in run_dirs:
        if path.name not in newest:
            shutil.rmtree(path, ignore_errors=True)
            _remove_empty_parents(path.parent, stop_at=roots)
            removed += 1
    return removed


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and _RUN_TIME_DIR.match(path.name) is not None


def _remove_empty_parents(path: Path, stop_at: list[Path]) -> None:
    while path not in stop_at and path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent
