"""The pipeline factory: one dlt pipeline per source, landing in `raw_<source>`."""

from __future__ import annotations

import hashlib
import importlib
import os
from pathlib import Path

import dlt

from seamline import settings
from seamline.database import Database

# source name -> the module holding its @dlt.source function of the same name
SOURCE_MODULES = {
    "woocommerce": "ingest.woocommerce",
    "lightspeed": "ingest.lightspeed",
    "finale": "ingest.finale",
    "klaviyo": "ingest.klaviyo",
    "xero": "ingest.xero",
}


def available_sources() -> tuple[str, ...]:
    return tuple(name for name in settings.enabled_sources() if name in SOURCE_MODULES)


def pipelines_dir(db: Database) -> Path:
    """Local pipeline state is kept per database, so pointing DATABASE_URL elsewhere starts clean
    there (dlt restores the state that database holds) instead of trusting another one's cursor."""
    identity = f"{db.host}|{db.port}|{db.dbname}|{settings.schema_prefix()}"
    return settings.home() / "pipelines" / hashlib.sha256(identity.encode()).hexdigest()[:12]


def dlt_defaults() -> None:
    """dlt settings every Seamline pipeline runs with (an explicit environment wins)."""
    # load files live for seconds on local disk: gzip cost most of dlt's normalize time
    os.environ.setdefault("NORMALIZE__DATA_WRITER__DISABLE_COMPRESSION", "true")
    # Arrow items (ingest/columnar.py) carry `_dlt_load_id` like dict items: staging models read it
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    # a loaded package's job files are the rows as loaded (PII included): keep no copy on disk
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    _keep_empty_strings_in_csv_loads()
    _keep_the_tenant_role()
    _plan_merges_on_statistics()
    _remember_typed_dict_hints()


# random reads priced as on SSDs (Postgres' default of 4 is for spinning disks), for the loader's
# sessions only: Supabase and the embedded database both keep their data on SSD
MERGE_RANDOM_PAGE_COST = 1.1


def _plan_merges_on_statistics() -> None:
    """dlt merges a table by deleting the final rows its staging copy replaces (`DELETE ... WHERE
    EXISTS (select from staging)`) right after COPYing that copy, a table Postgres has no
    statistics for: it planned a hash join over the whole final table however few rows changed
    (0.1-0.3 s a table at 100,000 orders, growing with the table). dlt's setup hook for merges
    now ANALYZEs the staging copy first and prices random reads as on SSDs, so the delete probes
    the merge index (ingest/indexes.py) once per changed record."""
    from dlt.destinations.sql_jobs import SqlMergeFollowupJob

    if getattr(SqlMergeFollowupJob._gen_table_setup_clauses, "analyzes", False):
        return
    setup = SqlMergeFollowupJob._gen_table_setup_clauses.__func__

    def analyze_then_setup(cls, table_chain, sql_client) -> list[str]:
        statements = [f"SET random_page_cost = {MERGE_RANDOM_PAGE_COST}"]
        with sql_client.with_staging_dataset():
            statements += [f"ANALYZE {sql_client.make_qualified_table_name(t['name'])}" for t in table_chain]
        return statements + setup(cls, table_chain, sql_client)

    analyze_then_setup.analyzes = True
    SqlMergeFollowupJob._gen_table_setup_clauses = classmethod(analyze_then_setup)


def _remember_typed_dict_hints() -> None:
    """dlt checks every table schema it computes against its TypedDicts and resolves their type
    hints with `get_type_hints` each time (its own TODO says to cache them). It computes an Arrow
    item's table schema for every batch of every table: about 0.3 s of CPU per 100,000
    WooCommerce orders (1 s under a profiler). A class's hints do not change, so each is resolved
    once (a copy is handed out)."""
    from dlt.common import validation

    if getattr(validation.get_type_hints, "remembers", False):
        return
    resolve = validation.get_type_hints
    resolved: dict = {}

    def get_type_hints(spec, globalns=None, localns=None, include_extras=False):
        if localns is not None:
            return resolve(spec, globalns=globalns, localns=localns, include_extras=include_extras)
        key = (spec, include_extras)
        try:
            hints = resolved.get(key)
        except TypeError:  # an unhashable spec
            return resolve(spec, globalns=globalns, include_extras=include_extras)
        if hints is None:
            hints = resolved[key] = resolve(spec, globalns=globalns, include_extras=include_extras)
        return dict(hints)

    get_type_hints.remembers = True
    validation.get_type_hints = get_type_hints


def _keep_the_tenant_role() -> None:
    """A tenant's sessions start as its role (`-crole=` in the connection options, seamline.database).
    dlt resets every connection it opens with psycopg2's `reset()`, whose SET SESSION AUTHORIZATION
    DEFAULT drops that role: set it again, or the tables would belong to the admin login."""
    from dlt.destinations.impl.postgres.sql_client import Psycopg2SqlClient
    from psycopg2 import sql

    if getattr(Psycopg2SqlClient._reset_connection, "keeps_role", False):
        return
    reset = Psycopg2SqlClient._reset_connection

    def reset_keeping_role(self) -> None:
        reset(self)
        options = str(self.credentials.get_query().get("options", ""))
        role = next((part[len("-crole="):] for part in options.split() if part.startswith("-crole=")), None)
        if role:
            with self._conn.cursor() as cur:
                cur.execute(sql.SQL("set role {}").format(sql.Identifier(role)))

    reset_keeping_role.keeps_role = True
    Psycopg2SqlClient._reset_connection = reset_keeping_role


def _keep_empty_strings_in_csv_loads() -> None:
    """dlt loads Arrow items into Postgres as CSV with FORCE_NULL on every nullable column, which
    turns a quoted empty string into NULL. Arrow's CSV writer already writes NULL unquoted and ''
    quoted, so without FORCE_NULL both survive. (The module's only use of this helper is that
    FORCE_NULL list; dlt is pinned in constraints.txt, and tests/test_columnar.py checks '' lands.)"""
    from dlt.destinations.impl.postgres import postgres

    postgres.is_nullable_column = lambda column: False


def make_pipeline(source: str, db: Database) -> dlt.Pipeline:
    dlt_defaults()
    return dlt.pipeline(
        pipeline_name=f"seamline_{source}",
        destination=dlt.destinations.postgres(credentials=db.dlt_credentials()),
        dataset_name=settings.raw_schema(source),
        pipelines_dir=str(pipelines_dir(db)),
    )


def make_source(source: str, **kwargs):
    return getattr(importlib.import_module(SOURCE_MODULES[source]), source)(**kwargs)


def reconciler(source: str):
    """The source's `reconcile_deletes(db, stats=...)`, if its vendor deletes without a trace."""
    return getattr(importlib.import_module(SOURCE_MODULES[source]), "reconcile_deletes", None)
