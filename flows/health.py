"""Freshness colours and the 0-100 health score of an integration: pure functions, no database.

Health score (weights sum to 100; each component is between 0 and 1):

    success   35  successful runs / runs, over the integration's last 10 sync runs
    freshness 25  green 1, yellow 0.5, red 0 (age of the last successful sync, see below)
    errors    15  1 - min(1, error rate / 5 %); error rate = errors / API calls over those runs,
                  so 0 % scores 1 and the alerting limit (5 %) or worse scores 0
    quality   15  the latest 'overall' quality score / 100 (ops.quality_scores)
    alerts    10  1 - open alerts / 2 (each open alert costs 5 points, two or more cost all 10)

    health = round(100 * sum(weight * component) / sum(weight of the known components))

A component with no data (no quality run yet) is left out and the others rescaled, so a source is
not punished for a check that has not run. An integration that never synced scores 0.

Freshness: green under 2 h, yellow from 2 h to 12 h, red over 12 h, per source configurable with
SEAMLINE_FRESHNESS_YELLOW_HOURS__<SOURCE> and SEAMLINE_FRESHNESS_RED_HOURS__<SOURCE> (or, for
every source, without the suffix).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

RECENT_RUNS = 10
WEIGHTS = {"success": 35, "freshness": 25, "errors": 15, "quality": 15, "alerts": 10}
ERROR_RATE_LIMIT = 0.05  # the documents' "error rate > 5 %" alert
FRESHNESS_CREDIT = {"green": 1.0, "yellow": 0.5, "red": 0.0}
DEFAULT_YELLOW_HOURS = 2.0
DEFAULT_RED_HOURS = 12.0


def _hours(name: str, source: str, default: float) -> float:
    value = os.environ.get(f"{name}__{source.upper()}") or os.environ.get(name)
    return float(value) if value else default


def thresholds(source: str) -> tuple[timedelta, timedelta]:
    """(yellow from, red from) for a source."""
    yellow = _hours("SEAMLINE_FRESHNESS_YELLOW_HOURS", source, DEFAULT_YELLOW_HOURS)
    red = _hours("SEAMLINE_FRESHNESS_RED_HOURS", source, DEFAULT_RED_HOURS)
    return timedelta(hours=yellow), timedelta(hours=max(red, yellow))


def freshness(source: str, age: timedelta | None) -> str:
    """green, yellow or red; never synced is red (no data is as stale as it gets)."""
    if age is None:
        return "red"
    yellow, red = thresholds(source)
    if age < yellow:
        return "green"
    return "yellow" if age <= red else "red"


@dataclass
class HealthInputs:
    runs: int  # recent sync runs considered (at most RECENT_RUNS)
    successful_runs: int
    errors: int
    api_calls: int
    freshness: str
    quality: float | None  # latest overall score, 0-100, None if never scored
    open_alerts: int


def components(h: HealthInputs) -> dict[str, float | None]:
    """Each component between 0 and 1, None when there is nothing to judge it by."""
    if h.api_calls:
        rate = h.errors / h.api_calls
    else:
        rate = 1.0 if h.errors else 0.0  # errors before any call succeeded (e.g. refused credentials)
    return {
        "success": h.successful_runs / h.runs if h.runs else None,
        "freshness": FRESHNESS_CREDIT[h.freshness],
        "errors": 1 - min(1.0, rate / ERROR_RATE_LIMIT),
        "quality": None if h.quality is None else max(0.0, min(1.0, h.quality / 100)),
        "alerts": max(0.0, 1 - h.open_alerts / 2),
    }


def score(h: HealthInputs) -> int:
    if h.runs == 0:
        return 0
    parts = {k: v for k, v in components(h).items() if v is not None}
    weight = sum(WEIGHTS[k] for k in parts)
    return round(100 * sum(WEIGHTS[k] * v for k, v in parts.items()) / weight)
