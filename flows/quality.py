"""The quality flow: the Great Expectations checkpoint, scores per integration and dimension."""

from __future__ import annotations

from prefect import flow

from seamline.database import get_database


@flow(name="quality")
def quality_flow(run_id: str | None = None):
    from expectations import run_quality

    return run_quality(get_database(), run_id=run_id)
