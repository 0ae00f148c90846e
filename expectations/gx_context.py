"""The GX file context under expectations/gx: datasource, assets, suites, validation definitions
and the checkpoint, declared in code on every run.

Each object is written (add_or_update) only when what the code declares differs from what is
stored: GX gives a rewritten object fresh ids, so rewriting on every run would change the
committed JSON under gx/ each time quality runs.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.exceptions import DataContextError

from expectations.suites.base import SuiteSpec
from seamline.database import Database

DATASOURCE = "seamline_postgres"
CHECKPOINT = "seamline_quality"
BATCH_DEFINITION = "whole_table"
# great_expectations.yml (committed) names this variable; the URL itself only lives in the process.
URL_VARIABLE = "SEAMLINE_GX_DATABASE_URL"
CONNECTION_STRING = "${" + URL_VARIABLE + "}"
# SUMMARY: counts and a short sample, never whole tables of unexpected rows in the stored results
RESULT_FORMAT = {"result_format": "SUMMARY"}


def open_context(project_dir: Path, db: Database):
    """The file context and the `seamline_postgres` datasource."""
    os.environ[URL_VARIABLE] = db.sqlalchemy_url()
    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    _quiet(context.variables)
    datasource = context.data_sources.all().get(DATASOURCE)
    stored_url = getattr(getattr(datasource, "connection_string", None), "template_str", None)
    if getattr(datasource, "type", None) != "sql" or stored_url != CONNECTION_STRING:
        # The generic SQL datasource: GX's postgres one rejects pgserver's host-less socket URL.
        datasource = context.data_sources.add_or_update_sql(
            name=DATASOURCE, connection_string=CONNECTION_STRING
        )
    return context, datasource


def _quiet(variables) -> None:
    """No progress bars (noise in flow logs and the CLI), no analytics, also for anyone opening
    this context without going through `expectations` (which sets GX_ANALYTICS_ENABLED)."""
    bars = variables.progress_bars or {}
    # a fresh config holds a ProgressBarsConfig, a reloaded one a plain dict
    enabled = bars.get if isinstance(bars, dict) else lambda key, default: getattr(bars, key, default)
    noisy = enabled("globally", True) or enabled("metric_calculations", True)
    if noisy or variables.analytics_enabled is not False:
        variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        variables.analytics_enabled = False
        variables.save()


def register_suites(context, specs: list[SuiteSpec]) -> dict[str, gx.ExpectationSuite]:
    return {spec.name: _suite(context, spec) for spec in specs}


def register_validations(
    context, datasource, specs: list[SuiteSpec], suites: dict[str, gx.ExpectationSuite]
) -> list[gx.ValidationDefinition]:
    """One asset per table and one validation definition per suite, whether the table exists or not.

    The asset is `select * from <schema>.<table>` rather than a GX table asset: a table asset is
    probed when declared, so a table that does not exist yet (marts before the first dbt build)
    could not be declared, and a stored checkpoint naming it would no longer load. This way the
    declared GX config is the same whatever the database holds, and a missing table only fails
    its own checks at run time. It also lets one datasource span every schema.
    """
    definitions = []
    for spec in specs:
        batch_definition = _whole_table(datasource, spec.qualified_table)
        suite = suites[spec.name]
        existing = _stored(context.validation_definitions, context.validation_definition_store, spec.name)
        if existing is not None and existing.data.id == batch_definition.id and existing.suite.id == suite.id:
            definitions.append(existing)
            continue
        definitions.append(context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
        ))
    # Assets nothing validates any more (a table dropped from the suites, another schema prefix)
    for name in datasource.get_asset_names() - {spec.qualified_table for spec in specs}:
        datasource.delete_asset(name)
    return definitions


def run_checkpoint(context, definitions: list[gx.ValidationDefinition], run_id: str, run_at: datetime):
    """Run every validation; its UpdateDataDocsAction renders the results into Data Docs."""
    checkpoint = _stored(context.checkpoints, context.checkpoint_store, CHECKPOINT)
    if checkpoint is None or (
        [d.id for d in checkpoint.validation_definitions] != [d.id for d in definitions]
        or [type(a) for a in checkpoint.actions] != [UpdateDataDocsAction]
        or checkpoint.result_format != RESULT_FORMAT
    ):
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=definitions,
            actions=[UpdateDataDocsAction(name="update_data_docs")],
            result_format=RESULT_FORMAT,
        ))
    return checkpoint.run(run_id=RunIdentifier(run_name=run_id, run_time=run_at))


def data_docs_index(context) -> Path:
    sites = context.get_docs_sites_urls()
    return Path(unquote(urlsplit(sites[0]["site_url"]).path))


def _comparable(expectation) -> dict:
    config = expectation.configuration.to_json_dict()
    config.pop("id", None)
    return config


def _suite(context, spec: SuiteSpec) -> gx.ExpectationSuite:
    existing = _stored(context.suites, context.expectations_store, spec.name)
    if (
        existing is not None
        and (existing.meta or {}).get("integration") == spec.integration
        and [_comparable(e) for e in existing.expectations] == [_comparable(e) for e in spec.expectations]
    ):
        return existing
    return context.suites.add_or_update(gx.ExpectationSuite(
        name=spec.name, expectations=list(spec.expectations), meta={"integration": spec.integration},
    ))


def _whole_table(datasource, table: str):
    query = f"select * from {table}"
    try:
        asset = datasource.get_asset(table)
    except LookupError:
        asset = None
    if asset is not None and asset.query != query:
        datasource.delete_asset(table)
        asset = None
    if asset is None:
        asset = datasource.add_query_asset(name=table, query=query)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_table(BATCH_DEFINITION)


def _stored(factory, store, name: str):
    """The stored object, or None if there is none or it no longer loads (and is then dropped)."""
    try:
        return factory.get(name)
    except DataContextError:
        return None
    except (ValueError, LookupError, TypeError):
        # pydantic's ValidationError (a ValueError): e.g. it names an asset that is gone.
        # The caller declares it afresh.
        store.remove_key(store.get_key(name=name, id=None))
        return None
