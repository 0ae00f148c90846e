"""Volume anomalies: did the latest load of a resource bring far fewer rows than its recent loads?

The rule, per source and resource, over the successful runs in ops.sync_runs (newest first):

    latest   = rows_loaded of the newest successful run
    history  = rows_loaded of the WINDOW (10) successful runs before it
    median   = median(history);  MAD = median(|h - median|) over the history
    spread   = max(1.4826 x MAD, REL_FLOOR (10 %) x median, ABS_FLOOR (1 row))
    anomaly  when  len(history) >= MIN_HISTORY (5)  and  latest < median - K (3) x spread

- 1.4826 x MAD estimates the standard deviation of normally spread counts, so K = 3 is the
  familiar three-sigma line, but one huge full reload (or a quiet night) in the history barely
  moves the median and the MAD, where it would drag a mean and a standard deviation with it.
- The floors keep a history of identical loads (MAD 0, e.g. a snapshot replaced whole every run)
  from flagging a load one row short: such a load is flagged below 70 % of the usual count.
- Only drops are flagged: a burst of rows is a busy day or a backfill, not data gone missing.
- With fewer than MIN_HISTORY earlier loads there is nothing to compare with: never flagged.
- A median of zero (a resource that mostly loads nothing) can never be undercut: never flagged.

Scored as ACCURACY: a load far thinner than usual means the raw tables no longer hold what the
source holds (rows went missing between API and database), which is an accuracy problem of the
data; timeliness stays about age, so a stale source and a thin load are told apart in the scores.
Each landed integration gets one volume expectation (passing when none of its resources is
anomalous), so the suite sizes, and with them the score arithmetic, do not depend on how much
history there is. Every knob is an environment variable (`SEAMLINE_VOLUME_K`,
`SEAMLINE_VOLUME_WINDOW`, `SEAMLINE_VOLUME_MIN_HISTORY`, `SEAMLINE_VOLUME_REL_FLOOR`,
`SEAMLINE_VOLUME_ABS_FLOOR`), each with an optional `__<SOURCE>` suffix for one source.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from expectations.result import Outcome
from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError

SCALE = 1.4826
"""MAD x SCALE estimates the standard deviation of normally distributed data."""

DIMENSION = "accuracy"
EXPECTATION_TYPE = "expect_load_volume_to_match_recent_loads"
COLUMN = "rows_loaded"


@dataclass(frozen=True)
class VolumeRule:
    k: float = 3.0
    window: int = 10
    min_history: int = 5
    rel_floor: float = 0.10
    abs_floor: float = 1.0

    @classmethod
    def for_source(cls, source: str) -> VolumeRule:
        """The defaults, overridden by SEAMLINE_VOLUME_<KNOB>[__<SOURCE>] (the source's own wins)."""
        default = cls()
        values = {}
        for knob, kind in (("k", float), ("window", int), ("min_history", int), ("rel_floor", float),
                           ("abs_floor", float)):
            name = f"SEAMLINE_VOLUME_{knob.upper()}"
            raw = (os.environ.get(f"{name}__{source.upper()}") or os.environ.get(name) or "").strip()
            if not raw:
                values[knob] = getattr(default, knob)
                continue
            try:
                value = kind(raw)
            except ValueError:
                raise SeamlineError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
            if value < 0 or (knob in ("window", "min_history") and value < 1):
                raise SeamlineError(f"{name} must be positive, got {raw!r}")
            values[knob] = value
        return cls(**values)


@dataclass(frozen=True)
class LoadVolume:
    """One resource's newest load against its history."""

    source: str
    resource: str
    latest: int
    history: tuple[int, ...]
    median: float | None = None
    mad: float | None = None
    threshold: float | None = None
    """Loads below this many rows are anomalous (None: not enough history to judge)."""

    @property
    def anomalous(self) -> bool:
        return self.threshold is not None and self.latest < self.threshold

    def describe(self) -> str:
        if self.threshold is None:
            return f"{self.source}.{self.resource}: {self.latest} rows, only {len(self.history)} earlier loads"
        return (f"{self.source}.{self.resource}: {self.latest} rows against a median of {self.median:g} over the "
                f"last {len(self.history)} loads (MAD {self.mad:g}; flagged below {self.threshold:.1f})")


def assess(source: str, resource: str, latest: int, history: list[int] | tuple[int, ...],
           rule: VolumeRule) -> LoadVolume:
    """Apply the rule to one resource: `history` is the earlier loads, newest first."""
    history = tuple(int(h) for h in history[: rule.window])
    if len(history) < rule.min_history:
        return LoadVolume(source, resource, int(latest), history)
    median = float(statistics.median(history))
    mad = float(statistics.median(abs(h - median) for h in history))
    spread = max(SCALE * mad, rule.rel_floor * median, rule.abs_floor)
    return LoadVolume(source, resource, int(latest), history, median, mad, median - rule.k * spread)


def load_history(db: Database, source: str, window: int) -> dict[str, tuple[int, list[int]]]:
    """resource -> (rows of the newest successful load, rows of up to `window` loads before it)."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(
            f"""
            select resource, rows_loaded from (
                select resource, rows_loaded,
                       row_number() over (partition by resource
                                          order by started_at desc, finished_at desc nulls last, run_id desc) as n
                from {ops}.sync_runs
                where source = %s and status = 'success' and resource <> '*'
            ) as runs
            where n <= %s
            order by resource, n
            """,
            (source, window + 1),
        )
        rows = cur.fetchall()
    out: dict[str, tuple[int, list[int]]] = {}
    for resource, count in rows:
        if resource not in out:
            out[resource] = (int(count), [])
        else:
            out[resource][1].append(int(count))
    return out


def check(db: Database, integrations: list[str]) -> tuple[list[Outcome], dict[str, list[LoadVolume]]]:
    """One accuracy outcome per integration, and the anomalous loads per integration."""
    outcomes: list[Outcome] = []
    anomalies: dict[str, list[LoadVolume]] = {}
    for integration in integrations:
        rule = VolumeRule.for_source(integration)
        assessed = [assess(integration, resource, latest, history, rule)
                    for resource, (latest, history) in sorted(load_history(db, integration, rule.window).items())]
        flagged = [a for a in assessed if a.anomalous]
        anomalies[integration] = flagged
        judged = [a for a in assessed if a.threshold is not None]
        if flagged:
            details = "volume drop: " + "; ".join(a.describe() for a in flagged)
        elif judged:
            details = f"every load within its recent range ({len(judged)} of {len(assessed)} resources judged)"
        else:
            details = f"not enough load history to judge yet (fewer than {rule.min_history} earlier loads)"
        outcomes.append(Outcome(
            integration=integration,
            suite=f"{integration}.ops.sync_runs",
            expectation_type=EXPECTATION_TYPE,
            column=COLUMN,
            dimension=DIMENSION,
            success=not flagged,
            observed={a.resource: {"latest": a.latest, "median": a.median, "mad": a.mad,
                                   "threshold": None if a.threshold is None else round(a.threshold, 2),
                                   "loads": len(a.history)} for a in assessed} or None,
            unexpected_count=len(flagged),
            details=details,
        ))
    return outcomes, anomalies
