"""How old an integration's newest completed load may be before its data counts as stale."""

from __future__ import annotations

import os

from seamline.errors import SeamlineError

DEFAULT_FRESHNESS_HOURS = 24.0

FRESHNESS_HOURS: dict[str, float] = {}
"""Per-integration thresholds in code (e.g. {"finale": 48.0} for a daily-batch source).

`SEAMLINE_FRESHNESS_HOURS__<INTEGRATION>` in the environment wins over this dict, so an operator can
loosen or tighten a threshold without a code change; anything unset falls back to 24 hours.
"""


def freshness_hours(integration: str) -> float:
    variable = f"SEAMLINE_FRESHNESS_HOURS__{integration.upper()}"
    raw = os.environ.get(variable, "").strip()
    if raw:
        try:
            hours = float(raw)
        except ValueError:
            raise SeamlineError(f"{variable} must be a number of hours, got {raw!r}") from None
        if not hours > 0:
            raise SeamlineError(f"{variable} must be a positive number of hours, got {raw!r}")
        return hours
    return FRESHNESS_HOURS.get(integration, DEFAULT_FRESHNESS_HOURS)
