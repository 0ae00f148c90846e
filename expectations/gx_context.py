"""The GX file context under expectations/gx: datasource, assets, suites, validation definitions
and one checkpoint per integration (`seamline_quality_<integration>`), declared in code on every
run whatever has landed; a run executes the checkpoints of the integrations that have landed.

Each object is written (add_or_update) only when what the code declares differs from what is
stored: GX gives a rewritten object fresh ids, so rewriting on every run would change the
committed JSON under gx/ each time quality runs.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import great_expectations as gx
from great_expectations.checkpoint import UpdateDataDocsAction
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier
from great_expectations.exceptions import DataContextError

from expectations.scrub import scrub_results
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


def checkpoint_name(integration: str) -> str:
    return f"{CHECKPOINT}_{integration}"


def register_checkpoints(
    context, specs: list[SuiteSpec], definitions: list[gx.ValidationDefinition]
) -> dict[str, gx.Checkpoint]:
    """One checkpoint per integration (its raw suites and its marts slice), each with an
    UpdateDataDocsAction, so a run validates only the integrations that have landed while every
    checkpoint's committed config stays the same whatever the database holds."""
    by_integration: dict[str, list[gx.ValidationDefinition]] = {}
    for spec, definition in zip(specs, definitions, strict=True):
        by_integration.setdefault(spec.integration, []).append(definition)
    checkpoints = {}
    for integration, mine in by_integration.items():
        name = checkpoint_name(integration)
        checkpoint = _stored(context.checkpoints, context.checkpoint_store, name)
        if checkpoint is None or (
            [d.id for d in checkpoint.validation_definitions] != [d.id for d in mine]
            or [type(a) for a in checkpoint.actions] != [UpdateDataDocsAction]
            or checkpoint.result_format != RESULT_FORMAT
        ):
            checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
                name=name,
                validation_definitions=mine,
                actions=[UpdateDataDocsAction(name="update_data_docs")],
                result_format=RESULT_FORMAT,
            ))
        checkpoints[integration] = checkpoint
    # checkpoints nothing declares any more (the single `seamline_quality` of before, a dropped source)
    for stored in _stored_checkpoint_names(context) - {c.name for c in checkpoints.values()}:
        if stored == CHECKPOINT or stored.startswith(f"{CHECKPOINT}_"):
            context.checkpoints.delete(stored)
    return checkpoints


def _stored_checkpoint_names(context) -> set[str]:
    return {key.to_tuple()[0] for key in context.checkpoint_store.list_keys()}


def run_checkpoints(context, checkpoints: list[gx.Checkpoint], run_id: str, run_at: datetime) -> list:
    """Run the given checkpoints under one run id; their UpdateDataDocsActions render the results
    into Data Docs. Returns every suite's validation result."""
    results = []
    with _data_docs_built_once(context):
        for checkpoint in checkpoints:
            outcome = checkpoint.run(run_id=RunIdentifier(run_name=run_id, run_time=run_at))
            results.extend(outcome.run_results.values())
        scrub_results(Path(context.root_directory))  # before the pages are rendered from them
    return results


@contextlib.contextmanager
def _data_docs_built_once(context):
    """Build Data Docs once per run instead of once per validation.

    UpdateDataDocsAction renders each validation's page (and its suite's) and then rebuilds the
    whole index from every stored result, once per suite, compiling GX's page templates afresh each
    time: with thirty suites that was over half of a run. While the checkpoints run, the pages each
    action asks for are collected; they and the index are then built in one pass.
    """
    build = context.build_data_docs
    wanted: list = []

    def collect(*args, resource_identifiers=None, **kwargs):
        wanted.extend(r for r in resource_identifiers or () if r not in wanted)
        return {}

    context.build_data_docs = collect
    try:
        yield
    finally:
        del context.build_data_docs  # the instance attribute goes; the method shows through again
    # nothing wanted (no checkpoint ran): an identifier that names nothing still rebuilds the index
    build(resource_identifiers=wanted or [ExpectationSuiteIdentifier(name=_INDEX_ONLY)], build_index=True)


_INDEX_ONLY = "__seamline_index_only__"


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
