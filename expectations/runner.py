"""One quality run: declare the suites, validate, score per integration and dimension, record it."""

from __future__ import annotations

import uuid
from pathlib import Path

from expectations import alerting, catalog, gx_context, outcomes, retention, scoring, store, volume
from expectations.result import Outcome, QualityResult
from expectations.suites import all_suites
from seamline import settings
from seamline.database import Database
from seamline.ops import ensure_ops_schema, utcnow


def new_run_id() -> str:
    return f"quality-{utcnow():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run(db: Database, run_id: str | None = None, project_dir: Path | None = None) -> QualityResult:
    run_id = run_id or new_run_id()
    run_at = utcnow()
    store.ensure_tables(db)  # fails fast (DatabaseUnavailable) before GX spends seconds starting
    ensure_ops_schema(db)  # the run history (volume) and the alerts live there

    specs = all_suites()
    present = catalog.existing_tables(db, {(s.schema, s.table) for s in specs})
    integrations = list(dict.fromkeys(s.integration for s in specs))
    landed = catalog.landed_integrations(db, integrations)
    # Never synced: nothing to judge yet, so not scored rather than scored 0
    skipped = {i: f"{i} has not landed yet (no completed load in {settings.raw_schema(i)}._dlt_loads): not scored"
               for i in integrations if i not in landed}

    context, datasource = gx_context.open_context(project_dir or settings.gx_project_dir(), db)
    # one fewer than kept: this run's results are about to be added
    retention.prune(Path(context.root_directory), keep=retention.KEEP_RUNS - 1)
    # Everything is declared, whatever has landed (the committed GX config must not depend on
    # what the database holds); only the checkpoints of landed integrations run.
    suites = gx_context.register_suites(context, specs)
    definitions = gx_context.register_validations(context, datasource, specs, suites)
    checkpoints = gx_context.register_checkpoints(context, specs, definitions)
    suite_results = gx_context.run_checkpoints(context, [checkpoints[i] for i in landed], run_id, run_at)

    by_name = {s.name: s for s in specs}
    results: list[Outcome] = []
    skipped_suites: dict[str, str] = {}
    for suite_result in suite_results:
        spec = by_name[suite_result.suite_name]
        waiting = [r for r in spec.requires if r not in landed]
        if waiting:
            skipped_suites[spec.name] = f"needs {', '.join(waiting)} to have landed too: not scored"
            continue
        if (spec.schema, spec.table) in present:
            results.extend(outcomes.from_validation(spec, suite_result))
        else:
            # GX failed these too, with a driver traceback; say plainly why instead
            results.extend(outcomes.for_missing_table(spec))
    volume_outcomes, anomalies = volume.check(db, landed)
    results.extend(volume_outcomes)
    results.sort(key=lambda o: (o.integration, o.suite, o.dimension, o.expectation_type, o.column))

    checks = ((o.integration, o.dimension, o.success) for o in results)
    dimension_scores, scores, rows = scoring.summarise(checks)
    store.write_run(db, run_id, run_at, results, rows)

    failing: dict[str, list[str]] = {}
    for o in results:
        if not o.success:
            failing.setdefault(o.integration, []).append(
                f"{o.suite} {o.expectation_type}{f' ({o.column})' if o.column else ''}")
    changes = alerting.evaluate(db, run_id, run_at, scores, anomalies, failing)

    return QualityResult(
        run_id=run_id,
        run_at=run_at,
        scores=scores,
        dimension_scores=dimension_scores,
        failed=[o.key for o in results if not o.success],
        data_docs_path=gx_context.data_docs_index(context),
        outcomes=results,
        skipped=skipped,
        skipped_suites=skipped_suites,
        volume_anomalies=anomalies,
        alerts_opened=changes.opened,
        alerts_resolved=changes.resolved,
    )


def build_docs(db: Database, project_dir: Path | None = None) -> Path:
    context, _ = gx_context.open_context(project_dir or settings.gx_project_dir(), db)
    gx_context.register_suites(context, all_suites())  # suite pages show what the code declares
    context.build_data_docs()
    return gx_context.data_docs_index(context)
