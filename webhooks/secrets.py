"""Webhook signing secrets: `WEBHOOKS__<SOURCE>__SECRET` (env), else dlt secrets
(`[webhooks.<source>] secret` in .dlt/secrets.toml). Read on use, so a rotated key takes effect
without a restart; never logged."""

from __future__ import annotations

import os


def secret_for(source: str) -> str | None:
    value = os.environ.get(f"WEBHOOKS__{source.upper()}__SECRET")
    if value is None:
        import dlt  # only when the environment does not say: the import is not free

        value = dlt.secrets.get(f"webhooks.{source}.secret")
    return str(value) if value else None


def setting(source: str, key: str, default: float) -> float:
    """A numeric per-source webhook setting, `WEBHOOKS__<SOURCE>__<KEY>`."""
    raw = os.environ.get(f"WEBHOOKS__{source.upper()}__{key.upper()}")
    return float(raw) if raw else default
