"""Deployments from `flows/prefect.yaml`, with schedule overrides from the environment."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import yaml

from ingest.pipeline import available_sources
from seamline import settings

PREFECT_FILE = settings.PROJECT_ROOT / "flows" / "prefect.yaml"


def load_specs(path: Path = PREFECT_FILE) -> list[dict]:
    """Deployment specs of installed sources (and the source-less flows), overrides applied."""
    specs = yaml.safe_load(path.read_text())["deployments"]
    installed = set(available_sources())
    out = []
    for spec in specs:
        source = (spec.get("parameters") or {}).get("source")
        needed = [source] if source is not None else spec.get("requires") or []
        if any(name not in installed for name in needed):
            continue
        spec = dict(spec)
        override = os.environ.get(f"SEAMLINE_SCHEDULE__{spec['name'].upper().replace('-', '_')}")
        if override:
            spec["schedule"] = _parse_override(override)
        out.append(spec)
    return out


def _parse_override(value: str) -> dict | None:
    value = value.strip()
    if value.lower() == "off":
        return None
    if value.replace(".", "", 1).isdigit():
        return {"interval": float(value)}
    return {"cron": value}


def _flow(entrypoint: str):
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def to_deployments(specs: list[dict]) -> list:
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    deployments = []
    for spec in specs:
        schedule = spec.get("schedule") or {}
        limit = spec.get("concurrency_limit")
        if isinstance(limit, dict):
            limit = ConcurrencyLimitConfig(limit=limit["limit"], collision_strategy=ConcurrencyLimitStrategy(
                limit.get("collision_strategy", "ENQUEUE")))
        kwargs = {}
        if "interval" in schedule:
            kwargs["interval"] = schedule["interval"]
        elif "cron" in schedule:
            from prefect.schedules import Cron

            kwargs["schedule"] = Cron(schedule["cron"], timezone=schedule.get("timezone", "UTC"))
        deployments.append(_flow(spec["entrypoint"]).to_deployment(
            name=settings.tenant_scoped(spec["name"]), description=spec.get("description"), tags=spec.get("tags"),
            parameters=spec.get("parameters") or {}, concurrency_limit=limit, **kwargs))
    return deployments


def ensure_concurrency_limits() -> None:
    """Global limits the flows occupy: one sync per source (vendor rate limits), one dbt at a time."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for source in available_sources():
            client.upsert_global_concurrency_limit_by_name(settings.tenant_scoped(f"source-{source}"), 1)
        client.upsert_global_concurrency_limit_by_name(settings.tenant_scoped("dbt"), 1)
