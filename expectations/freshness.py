"""How old an integration's newest completed load may be before its data counts as stale.

The default is a few times the source's schedule (`FRESHNESS_MULTIPLE` x the cadence in
flows.alerts.CADENCE_MINUTES: 15 min for WooCommerce and Lightspeed, 60 min for the others), so
one missed or retried run does not flag, and a source that has stopped loading does within the
hour (15-min sources) or within four hours (hourly ones):

    woocommerce, lightspeed   1 h        klaviyo, xero, finale   4 h
"""

from __future__ import annotations

import os

from flows.alerts import CADENCE_MINUTES
from seamline.errors import SeamlineError

FRESHNESS_MULTIPLE = 4
"""Newest load older than this many schedule intervals: stale."""

DEFAULT_FRESHNESS_HOURS = 24.0
"""For an integration with no known schedule."""

FRESHNESS_HOURS: dict[str, float] = {
    source: FRESHNESS_MULTIPLE * minutes / 60 for source, minutes in CADENCE_MINUTES.items()
}
"""Per-integration thresholds in code (edit here for a source whose schedule changes, e.g.
{"finale": 48.0} for a daily batch).

`SEAMLINE_FRESHNESS_HOURS__<INTEGRATION>` in the environment wins over this dict, so an operator can
loosen or tighten a threshold without a code change.
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
