"""Alerts a quality run raises and clears, through flows.alerts (ops.alerts + apprise): one open
alert per integration and kind, resolved when the condition clears.

- `quality_drop`: an integration's overall score is under `SEAMLINE_QUALITY_ALERT_BELOW` (default
  90), or fell by at least `SEAMLINE_QUALITY_ALERT_DROP` points (default 10) since its previous
  run. Resolved once the score is back at or above the floor and within the drop of where it was
  before the incident began (so a fall from 100 to 90 stays open at 90 and clears at 91 or more).
- `volume_anomaly`: a resource's latest load is far below its recent loads (expectations.volume);
  resolved when no resource of the integration is anomalous.

Both thresholds take a `__<SOURCE>` suffix for one integration (`SEAMLINE_QUALITY_ALERT_BELOW__XERO=80`).
Integrations that were not scored (never synced) are left alone: nothing is opened or resolved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from expectations.scoring import OVERALL
from expectations.volume import LoadVolume
from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError

QUALITY_DROP = "quality_drop"
VOLUME_ANOMALY = "volume_anomaly"
DEFAULT_SCORE_FLOOR = 90.0
DEFAULT_DROP_POINTS = 10.0


def _threshold(name: str, integration: str, default: float) -> float:
    raw = (os.environ.get(f"{name}__{integration.upper()}") or os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SeamlineError(f"{name} must be a number, got {raw!r}") from None


def score_floor(integration: str) -> float:
    return _threshold("SEAMLINE_QUALITY_ALERT_BELOW", integration, DEFAULT_SCORE_FLOOR)


def drop_points(integration: str) -> float:
    return _threshold("SEAMLINE_QUALITY_ALERT_DROP", integration, DEFAULT_DROP_POINTS)


@dataclass
class AlertChanges:
    opened: list[str] = field(default_factory=list)
    """incident keys (`kind:integration`) opened by this run"""
    resolved: list[str] = field(default_factory=list)


def previous_score(db: Database, integration: str, run_id: str, run_at: datetime) -> float | None:
    """The integration's overall score in the latest earlier run."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"select score from {ops}.quality_scores where integration = %s and dimension = %s "
                    "and run_id <> %s and run_at < %s order by run_at desc limit 1",
                    (integration, OVERALL, run_id, run_at))
        row = cur.fetchone()
    return None if row is None else float(row[0])


def _incident_baseline(db: Database, integration: str) -> tuple[bool, float | None]:
    """(is a quality_drop open, the score before the run that opened it)."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"select opened_at from {ops}.alerts where incident_key = %s and resolved_at is null",
                    (f"{QUALITY_DROP}:{integration}",))
        row = cur.fetchone()
        if row is None:
            return False, None
        # the opening run stored its scores before opening the alert: the baseline is the run before it
        cur.execute(f"select score from {ops}.quality_scores where integration = %s and dimension = %s "
                    "and run_at <= %s order by run_at desc offset 1 limit 1", (integration, OVERALL, row[0]))
        before = cur.fetchone()
    return True, None if before is None else float(before[0])


def drop_message(integration: str, score: float, previous: float | None) -> str | None:
    """Why the score calls for an alert, or None if it does not."""
    floor, drop = score_floor(integration), drop_points(integration)
    reasons = []
    if score < floor:
        reasons.append(f"under the {floor:g} floor")
    if previous is not None and previous - score >= drop:
        reasons.append(f"down {previous - score:.1f} points from {previous:.1f} in the previous run")
    if not reasons:
        return None
    return f"{integration}: quality score {score:.1f} ({' and '.join(reasons)})"


def evaluate(db: Database, run_id: str, run_at: datetime, scores: dict[str, float],
             anomalies: dict[str, list[LoadVolume]], failed_by_integration: dict[str, list[str]]) -> AlertChanges:
    """Open or resolve each scored integration's quality_drop and volume_anomaly alerts."""
    from flows.alerts import open_alert, resolve_alert

    changes = AlertChanges()
    for integration, score in sorted(scores.items()):
        message = drop_message(integration, score, previous_score(db, integration, run_id, run_at))
        if message is not None:
            failing = failed_by_integration.get(integration, [])
            if failing:
                shown = ", ".join(failing[:5]) + (f" and {len(failing) - 5} more" if len(failing) > 5 else "")
                message += f"; failing: {shown}"
            if open_alert(db, QUALITY_DROP, integration, message):
                changes.opened.append(f"{QUALITY_DROP}:{integration}")
        else:
            is_open, baseline = _incident_baseline(db, integration)
            recovered = score >= score_floor(integration) and (
                baseline is None or score > baseline - drop_points(integration))
            if is_open and recovered and resolve_alert(
                    db, QUALITY_DROP, integration, f"{integration}: quality score back at {score:.1f}"):
                changes.resolved.append(f"{QUALITY_DROP}:{integration}")

    for integration, flagged in sorted(anomalies.items()):
        if integration not in scores:
            continue
        if flagged:
            message = f"{integration}: volume drop: " + "; ".join(a.describe() for a in flagged)
            if open_alert(db, VOLUME_ANOMALY, integration, message):
                changes.opened.append(f"{VOLUME_ANOMALY}:{integration}")
        elif resolve_alert(db, VOLUME_ANOMALY, integration, f"{integration}: load volumes back in range"):
            changes.resolved.append(f"{VOLUME_ANOMALY}:{integration}")
    return changes
