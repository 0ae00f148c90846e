"""One place for names and paths: where Seamline keeps its state and what its schemas are called."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
GX_PROJECT_DIR = PROJECT_ROOT / "expectations"

SOURCES: tuple[str, ...] = ("woocommerce", "klaviyo", "xero", "lightspeed", "finale")


def home() -> Path:
    """The folder for local state: embedded database, dlt pipelines, Prefect home."""
    path = Path(os.environ.get("SEAMLINE_HOME", PROJECT_ROOT / ".seamline"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def tenant() -> str | None:
    """The tenant this process serves (seamline.tenants.activate), or None for the single-tenant default."""
    return os.environ.get("SEAMLINE_ACTIVE_TENANT") or None


def enabled_sources() -> tuple[str, ...]:
    """The sources this tenant uses (SEAMLINE_SOURCES, set from tenants.yml); all by default."""
    wanted = [s.strip() for s in os.environ.get("SEAMLINE_SOURCES", "").split(",") if s.strip()]
    return tuple(s for s in SOURCES if s in wanted) if wanted else SOURCES


def dbt_unit_tests() -> bool:
    """SEAMLINE_DBT_UNIT_TESTS=true: `dbt build` runs the unit tests too (development)."""
    return os.environ.get("SEAMLINE_DBT_UNIT_TESTS", "").strip().lower() in ("1", "true", "yes")


def sync_processes() -> int:
    """SEAMLINE_SYNC_PROCESSES: how many syncs run at once, each in a process of its own
    (ingest/processes.py); 0 runs them in the calling process. Default: one more than the cores,
    since a sync also waits on the vendor and on Postgres (two cores, five sources: 70 s with 2 at
    once, 60 s with 3, 62 s with 5; bench/RESULTS.md)."""
    value = os.environ.get("SEAMLINE_SYNC_PROCESSES", "").strip()
    if not value:
        return (os.cpu_count() or 1) + 1
    if not value.isdigit():
        raise ValueError(f"SEAMLINE_SYNC_PROCESSES must be a whole number (0: no child processes), got {value!r}")
    return int(value)


def dbt_lock_key() -> str:
    """The advisory lock one dbt build of this prefix holds (flows/dbt.py); an erase takes it too."""
    return f"seamline.dbt.{schema_prefix()}"


def tenant_scoped(name: str) -> str:
    """A name shared in Prefect (deployments, concurrency limits), kept apart per tenant."""
    return f"{name}@{tenant()}" if tenant() else name


def schema_prefix() -> str:
    """A tenant prefix for every schema (empty for the single-tenant default)."""
    return os.environ.get("SEAMLINE_SCHEMA_PREFIX", "")


def schema(name: str) -> str:
    """The physical schema for a logical one (`ops`, `staging`, `marts`, ...)."""
    return f"{schema_prefix()}{name}"


def gx_project_dir() -> Path:
    """Where the GX file context lives: `expectations/gx`, or one per schema prefix (tenant),
    since the generated suites name the prefixed schemas."""
    prefix = schema_prefix()
    return GX_PROJECT_DIR if not prefix else GX_PROJECT_DIR / "tenants" / prefix.strip("_")


def seeds_dir() -> Path:
    """The mapping seeds dbt loads: dbt_project/seeds, or a tenant's copy with its overrides."""
    return DBT_PROJECT_DIR / os.environ.get("SEAMLINE_SEED_PATH", "seeds")


def raw_schema(source: str) -> str:
    """The dataset a source lands in: `raw_<source>`."""
    return schema(f"raw_{source}")


OPS = "ops"

# Where dbt puts its models and seeds (dbt_project.yml) and its snapshots (snapshots/_snapshots.yml).
DBT_SCHEMAS: tuple[str, ...] = ("staging", "intermediate", "marts", "mappings", "snapshots")


def raw_schemas() -> list[str]:
    """Every dataset dlt writes: `raw_<source>` and its `raw_<source>_staging` load area."""
    return [name for source in SOURCES for name in (raw_schema(source), f"{raw_schema(source)}_staging")]


def all_schemas() -> list[str]:
    """Every schema Seamline may write under the current prefix (not all exist on every install)."""
    return [*raw_schemas(), schema(OPS), *(schema(name) for name in DBT_SCHEMAS)]
