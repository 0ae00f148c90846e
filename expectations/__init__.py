"""Great Expectations quality checks: suites per integration, scores per dimension, Data Docs.

    from expectations import run_quality
    result = run_quality(db)          # db: seamline.database.Database
    result.scores                     # {"woocommerce": 100.0, ...}
    result.skipped                    # {"finale": "finale has not landed yet ...: not scored"}

- Suites in code, one module per integration (suites/<source>.py) over its raw tables, plus the
  marts slices (suites/marts.py), each expectation tagged with one of five dimensions:
  completeness, validity, consistency, accuracy, timeliness (freshness.py: thresholds a few
  times each source's schedule).
- Only integrations whose raw data has landed (a completed dlt load) are validated and scored;
  the others are listed in `result.skipped`. A cross-system suite (Klaviyo's orders against
  WooCommerce's) waits for both (`result.skipped_suites`).
- Volume anomalies (volume.py): each integration's latest load per resource against its recent
  loads in ops.sync_runs (median absolute deviation), one accuracy expectation per integration.
- Scores (scoring.py: share passed per dimension, weighted mean overall) and every outcome go to
  ops.quality_scores / ops.quality_results, with history.
- Alerts (alerting.py, through flows.alerts): `quality_drop` when an integration's score is under
  90 or fell 10 points since its previous run, `volume_anomaly` for a volume drop; one open alert
  per integration and kind, resolved when the condition clears.

A failed expectation lowers a score and is recorded in ops.quality_results; it never drops or
blocks data, and `run_quality` raises only for real errors (e.g. the database is unreachable).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from expectations.result import Outcome, QualityResult
from seamline import settings

# No usage analytics from a data pipeline. Set here because importing any submodule runs this file
# first, and nothing imported above touches GX.
os.environ["GX_ANALYTICS_ENABLED"] = "false"

if TYPE_CHECKING:
    from seamline.database import Database

__all__ = ["Outcome", "QualityResult", "build_data_docs", "data_docs_dir", "run_quality"]


def run_quality(db: Database, run_id: str | None = None, *, project_dir: Path | None = None) -> QualityResult:
    """Validate every suite, score each integration per dimension, store the run, build Data Docs.

    `project_dir` overrides where the GX file context lives (default: seamline.settings.gx_project_dir()).
    """
    # GX takes seconds to import; only callers that actually check data pay for it.
    from expectations.runner import run

    return run(db, run_id=run_id, project_dir=project_dir)


def build_data_docs(db: Database, *, project_dir: Path | None = None) -> Path:
    """(Re)build Data Docs from the suites in code and the stored results, without validating.

    Returns the index.html path.
    """
    from expectations.runner import build_docs

    return build_docs(db, project_dir=project_dir)


def data_docs_dir(project_dir: Path | None = None) -> Path:
    """The folder holding the Data Docs site (index.html), as GX's default local site places it."""
    return (project_dir or settings.gx_project_dir()) / "gx" / "uncommitted" / "data_docs" / "local_site"
