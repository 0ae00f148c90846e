"""How the processor starts a sync (and the dbt build after it): through Prefect deployments when
a Prefect API is configured, in this process otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass

from seamline import settings
from seamline.database import Database
from seamline.masking import mask_text


@dataclass
class Outcome:
    ok: bool
    run_id: str = ""
    message: str = ""
    transient: bool = True  # for a failure: could a retry help?


def dbt_select() -> list[str]:
    """`WEBHOOKS_DBT_SELECT` (e.g. `+fct_orders`): build only those after a webhook sync; default all."""
    select = os.environ.get("WEBHOOKS_DBT_SELECT", "").strip()
    # cautious: a test that also reads a model outside the selection is left for the full build
    return ["--select", *select.split(), "--indirect-selection", "cautious"] if select else []


class InProcessRunner:
    def __init__(self, db: Database):
        self.db = db

    def sync(self, source: str, key: str) -> Outcome:
        from ingest.sync import sync_source

        result = sync_source(source, trigger="webhook", db=self.db)
        if result.ok:
            return Outcome(True, result.run_id)
        # busy (another sync holds the dataset) and stopped (a day limit) are worth another try
        transient = result.status in ("busy", "stopped") or result.transient
        return Outcome(False, result.run_id, result.message or result.status, transient)

    def transform(self, key: str) -> Outcome:
        from flows.dbt import run_dbt

        result = run_dbt(self.db, "build", *dbt_select())
        return Outcome(result.success, message="; ".join(f.splitlines()[0] for f in result.failures[:3]))


class PrefectRunner:
    """`run_deployment` of `sync/sync-<source>` (served by `seamline serve`), waiting for its end.
    The idempotency key names the batch of events: a processor restarted mid-batch finds the
    flow run it already created instead of starting a second one."""

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout if timeout is not None else float(os.environ.get("WEBHOOKS_RUN_TIMEOUT_SECONDS", "3600"))

    def _run(self, name: str, parameters: dict, key: str) -> Outcome:
        from prefect.deployments import run_deployment

        run = run_deployment(name, parameters=parameters, idempotency_key=key, timeout=self.timeout,
                             tags=["webhook"])
        state = run.state
        if state is not None and state.is_completed():
            return Outcome(True, str(run.id))
        what = state.name if state is not None else "unknown"
        return Outcome(False, str(run.id), mask_text(f"flow run {run.name} ended {what}: {state and state.message}"))

    def sync(self, source: str, key: str) -> Outcome:
        deployment = "sync/" + settings.tenant_scoped(f"sync-{source}")
        return self._run(deployment, {"source": source, "trigger": "webhook", "use_ladder": False}, key)

    def transform(self, key: str) -> Outcome:
        return self._run("transform/transform", {}, key)


def default_runner(db: Database):
    return PrefectRunner() if os.environ.get("PREFECT_API_URL") else InProcessRunner(db)
