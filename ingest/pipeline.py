"""The pipeline factory: one dlt pipeline per source, landing in `raw_<source>`."""

from __future__ import annotations

import hashlib
import importlib
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
    return tuple(name for name in settings.SOURCES if name in SOURCE_MODULES)


def pipelines_dir(db: Database) -> Path:
    """Local pipeline state is kept per database, so pointing DATABASE_URL elsewhere starts clean
    there (dlt restores the state that database holds) instead of trusting another one's cursor."""
    identity = f"{db.host}|{db.port}|{db.dbname}|{settings.schema_prefix()}"
    return settings.home() / "pipelines" / hashlib.sha256(identity.encode()).hexdigest()[:12]


def make_pipeline(source: str, db: Database) -> dlt.Pipeline:
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
