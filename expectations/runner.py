"""One quality run: declare the suites, validate, score per integration and dimension, record it."""

from __future__ import annotations

import uuid
from pathlib import Path

from expectations import catalog, gx_context, outcomes, retention, scoring, store
from expectations.result import Outcome, QualityResult
from expectations.suites import all_suites
from seamline import settings
from seamline.database import Database
from seamline.ops import utcnow


def new_run_id() -> str:
    return f"quality-{utcnow():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def run(db: Database, run_id: str | None = None, project_dir: Path | None = None) -> QualityResult:
    run_id = run_id or new_run_id()
    run_at = utcnow()
    store.ensure_tables(db)  # fails fast (DatabaseUnavailable) before GX spends seconds starting

    specs = all_suites()
    present = catalog.existing_tables(db, {(s.schema, s.table) for s in specs})

    context, datasource = gx_context.open_context(project_dir or settings.gx_project_dir(), db)
    # one fewer than kept: this run's results are about to be added
    retention.prune(Path(context.root_directory), keep=retention.KEEP_RUNS - 1)
    suites = gx_context.register_suites(context, specs)
    definitions = gx_context.register_validations(context, datasource, specs, suites)
    checkpoint_result = gx_context.run_checkpoint(context, definitions, run_id, run_at)

    by_name = {s.name: s for s in specs}
    results: list[Outcome] = []
    for suite_result in checkpoint_result.run_results.values():
        spec = by_name[suite_result.suite_name]
        if (spec.schema, spec.table) in present:
            results.extend(outcomes.from_validation(spec, suite_result))
        else:
            # GX failed these too, with a driver traceback; say plainly why instead
            results.extend(outcomes.for_missing_table(spec))
    results.sort(key=lambda o: (o.integration, o.suite, o.dimension, o.expectation_type, o.column))

    checks = ((o.integration, o.dimension, o.success) for o in results)
    dimension_scores, scores, rows = scoring.summarise(checks)
    store.write_run(db, run_id, run_at, results, rows)

    return QualityResult(
        run_id=run_id,
        run_at=run_at,
        scores=scores,
        dimension_scores=dimension_scores,
        failed=[o.key for o in results if not o.success],
        data_docs_path=gx_context.data_docs_index(context),
        outcomes=results,
    )


def build_docs(db: Database, project_dir: Path | None = None) -> Path:
    context, _ = gx_context.open_context(project_dir or settings.gx_project_dir(), db)
    gx_context.register_suites(context, all_suites())  # suite pages show what the code declares
    context.build_data_docs()
    return gx_context.data_docs_index(context)
