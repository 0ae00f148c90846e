"""The transform flow: `dbt build`, each model and test a task of its own in the Prefect UI."""

from __future__ import annotations

from prefect import flow
from prefect.concurrency.sync import concurrency

from flows.dbt import DbtResult, run_dbt
from seamline import settings
from seamline.database import get_database


@flow(name="transform")
def transform_flow() -> DbtResult:
    # the Prefect limit makes the wait visible in the UI; run_dbt's database lock enforces it
    with concurrency(settings.tenant_scoped("dbt"), occupy=1, strict=False):
        return run_dbt(get_database(), "build")
