"""Alerts for the source documents' four conditions, one per incident, resolved when they clear.

- integration_failed: the integration's latest sync failed;
- latency_high: its newest successful sync is older than twice its schedule (configurable);
- error_rate_high: more than 5 % of its API calls failed over the last 24 hours;
- no_data: no rows have arrived for X hours (default 24).

Every alert is a row in `ops.alerts` (at most one open per incident key) and a notification
through apprise to each URL in `SEAMLINE_ALERT_URLS` (email `mailtos://`, Slack `slack://`, a
webhook `json://` ...). Other stages (quality) raise and clear their own kinds with `open_alert`
and `resolve_alert`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ingest.pipeline import available_sources
from seamline import settings
from seamline.database import Database
from seamline.masking import mask_text
from seamline.ops import ensure_ops_schema

log = logging.getLogger(__name__)

# the documents' cadences, in minutes; latency is "high" past twice the cadence
CADENCE_MINUTES = {"woocommerce": 15, "lightspeed": 15, "klaviyo": 60, "xero": 60, "finale": 60}
ERROR_RATE_LIMIT = 0.05
ERROR_RATE_MIN_CALLS = 20


def _env_number(name: str, source: str, default: float) -> float:
    value = os.environ.get(f"{name}__{source.upper()}") or os.environ.get(name)
    return float(value) if value else default


def latency_limit(source: str) -> timedelta:
    minutes = _env_number("SEAMLINE_ALERT_LATENCY_MINUTES", source, 2 * CADENCE_MINUTES.get(source, 60))
    return timedelta(minutes=minutes)


def no_data_limit(source: str) -> timedelta:
    return timedelta(hours=_env_number("SEAMLINE_ALERT_NO_DATA_HOURS", source, 24))


@dataclass
class AlertChanges:
    opened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def notify(title: str, body: str) -> bool:
    urls = [u for u in os.environ.get("SEAMLINE_ALERT_URLS", "").replace(",", " ").split() if u]
    if not urls:
        return False
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        sender.add(url)
    try:
        return bool(sender.notify(title=title, body=body))
    except Exception as exc:  # a broken channel must not break the pipeline
        log.warning("alert delivery failed: %s", mask_text(str(exc)))
        return False


def open_alert(db: Database, kind: str, integration: str | None, message: str) -> bool:
    """Open an incident unless it is already open; True if it is new (and was notified)."""
    key = f"{kind}:{integration or '*'}"
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"insert into {ops}.alerts (incident_key, kind, integration, message) values (%s, %s, %s, %s) "
                    "on conflict (incident_key) where resolved_at is null do nothing returning alert_id",
                    (key, kind, integration, message))
        row = cur.fetchone()
        if row is None:
            return False
        delivered = notify(f"[Seamline] {kind.replace('_', ' ')}: {integration or 'all'}", message)
        cur.execute(f"update {ops}.alerts set delivered = %s where alert_id = %s", (delivered, row[0]))
    return True


def resolve_alert(db: Database, kind: str, integration: str | None, message: str = "cleared") -> bool:
    key = f"{kind}:{integration or '*'}"
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"update {ops}.alerts set resolved_at = now() where incident_key = %s and resolved_at is null "
                    "returning alert_id", (key,))
        if cur.fetchone() is None:
            return False
    notify(f"[Seamline] resolved {kind.replace('_', ' ')}: {integration or 'all'}", message)
    return True


def _conditions(db: Database, source: str, now: datetime) -> dict[str, str | None] | None:
    """Each condition's message if it holds now, None if it does not; None overall if never synced."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"select status, error_message, finished_at from {ops}.sync_runs where source = %s "
                    "and status <> 'busy' order by started_at desc, finished_at desc nulls last limit 1", (source,))
        latest = cur.fetchone()
        if latest is None:
            return None
        cur.execute(f"select max(last_success_at) from {ops}.sync_state where source = %s", (source,))
        last_success = cur.fetchone()[0]
        cur.execute(f"select coalesce(sum(errors), 0), coalesce(sum(api_calls), 0) from {ops}.sync_runs "
                    "where source = %s and started_at > %s", (source, now - timedelta(hours=24)))
        errors, calls = cur.fetchone()
        cur.execute(f"select max(finished_at) filter (where rows_loaded > 0), min(started_at) "
                    f"from {ops}.sync_runs where source = %s", (source,))
        last_rows, first_run = cur.fetchone()
    status, error, _ = latest
    out: dict[str, str | None] = {}
    out["integration_failed"] = f"{source}: the latest sync failed: {error}" if status == "failed" else None
    limit = latency_limit(source)
    age = now - last_success if last_success else now - first_run
    out["latency_high"] = (f"{source}: the newest successful sync is {age.total_seconds() / 60:.0f} min old "
                           f"(limit {limit.total_seconds() / 60:.0f} min)") if age > limit else None
    rate = errors / calls if calls else 0.0
    out["error_rate_high"] = (f"{source}: {rate:.1%} of {calls} API calls failed in the last 24 h "
                              f"(limit {ERROR_RATE_LIMIT:.0%})") if calls >= ERROR_RATE_MIN_CALLS and rate > ERROR_RATE_LIMIT else None
    quiet_since = last_rows or first_run
    no_data = no_data_limit(source)
    out["no_data"] = (f"{source}: no rows have arrived for {(now - quiet_since).total_seconds() / 3600:.1f} h "
                      f"(limit {no_data.total_seconds() / 3600:.0f} h)") if now - quiet_since > no_data else None
    return out


def evaluate(db: Database, now: datetime | None = None, sources: list[str] | None = None) -> AlertChanges:
    """Open alerts for conditions that hold, resolve those that cleared."""
    ensure_ops_schema(db)
    now = now or datetime.now(timezone.utc)
    changes = AlertChanges()
    for source in sources or available_sources():
        conditions = _conditions(db, source, now)
        if conditions is None:
            continue
        for kind, message in conditions.items():
            if message is not None:
                if open_alert(db, kind, source, message):
                    changes.opened.append(f"{kind}:{source}")
            elif resolve_alert(db, kind, source, f"{source}: {kind.replace('_', ' ')} cleared"):
                changes.resolved.append(f"{kind}:{source}")
    return changes
