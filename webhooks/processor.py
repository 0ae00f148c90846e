"""Pending webhook events -> debounced incremental syncs, the retry ladder, the dead-letter queue.

Events only say *that* something changed; the source's incremental sync fetches *what*. So a
burst of 1,000 order events needs one sync, not 1,000: a source is synced once its events have
been quiet for `WEBHOOKS_DEBOUNCE_SECONDS` (default 5), or once its oldest pending event has
waited `WEBHOOKS_MAX_DELAY_SECONDS` (default 60) in a burst that does not stop. Every event the
sync covered is marked done with the run's id, once. A failed sync's events climb the retry
ladder (flows/ladder.py: now, 5 min, 30 min, 2 h); then, or at once when retrying cannot help
(a credential refused, a resource no sync covers), they land in `ops.dead_letter` with the reason.

One processor works at a time (a Postgres advisory lock, held for its session); events a dead
processor had claimed go back to pending, under the same idempotency key.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from flows.ladder import ladder
from seamline.database import Database
from seamline.masking import mask_text
from seamline.ops import ops_schema
from webhooks.runners import Outcome, default_runner
from webhooks.store import ensure_tables
from webhooks.vendors import RESOURCES

log = logging.getLogger(__name__)
LOCK_KEY = "seamline.webhooks.processor"


@dataclass
class BatchResult:
    source: str
    event_ids: list[int]
    outcome: Outcome | None = None
    dead: list[int] = field(default_factory=list)  # events sent to the dead-letter queue
    retrying: list[int] = field(default_factory=list)


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


class Processor:
    def __init__(self, db: Database, runner=None, *, debounce: float | None = None, max_delay: float | None = None,
                 poll: float | None = None, transform: bool | None = None):
        ensure_tables(db)
        self.db = db
        self.runner = runner or default_runner(db)
        self.debounce = debounce if debounce is not None else _env_seconds("WEBHOOKS_DEBOUNCE_SECONDS", 5)
        self.max_delay = max_delay if max_delay is not None else _env_seconds("WEBHOOKS_MAX_DELAY_SECONDS", 60)
        self.poll = poll if poll is not None else _env_seconds("WEBHOOKS_POLL_SECONDS", 1)
        self.transform = transform if transform is not None else os.environ.get("WEBHOOKS_TRANSFORM", "on") != "off"
        self.syncs = 0  # syncs started by this processor (the debounce at work)
        self.last_transform: Outcome | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ----------------------------------------------------------------------
    def run_once(self) -> list[BatchResult]:
        """Sync every source whose events are due; then one dbt build if any sync succeeded."""
        conn = self.db.connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("select pg_try_advisory_lock(hashtext(%s))", (LOCK_KEY,))
                if not cur.fetchone()[0]:
                    return []  # another processor is at work
                try:
                    return self._pass(cur)
                finally:
                    # released here, not by closing: the server drops a closed session's locks a
                    # moment later, and the next pass would find the lock still taken
                    cur.execute("select pg_advisory_unlock(hashtext(%s))", (LOCK_KEY,))
        finally:
            conn.close()  # a processor killed mid-pass loses its session, and with it the lock

    def _pass(self, cur) -> list[BatchResult]:
        # holding the lock, any event still 'processing' was claimed by a processor that died
        cur.execute(f"update {ops_schema()}.webhook_events set status = 'pending', attempts = attempts - 1 "
                    "where status = 'processing'")
        results = [self._process(cur, source) for source in self._due_sources(cur)]
        synced = [r for r in results if r.outcome is not None and r.outcome.ok]
        if synced and self.transform:
            key = "webhooks-transform-" + "-".join(f"{r.source}.{r.outcome.run_id}" for r in synced)
            outcome = self.last_transform = self._attempt(self.runner.transform, key)
            if not outcome.ok:
                log.warning("dbt build after webhook syncs failed: %s", outcome.message)
        return results

    def _due_sources(self, cur) -> list[str]:
        cur.execute(f"""
            select source from {ops_schema()}.webhook_events
            where status = 'pending' and next_attempt_at <= now()
            group by source
            having max(received_at) <= now() - make_interval(secs => %s)
                or min(received_at) <= now() - make_interval(secs => %s)
            order by source
        """, (self.debounce, self.max_delay))
        return [row[0] for row in cur.fetchall()]

    def _process(self, cur, source: str) -> BatchResult:
        cur.execute(f"""
            update {ops_schema()}.webhook_events set status = 'processing', attempts = attempts + 1
            where event_id in (select event_id from {ops_schema()}.webhook_events
                               where source = %s and status = 'pending' and next_attempt_at <= now()
                               for update skip locked)
            returning event_id, resources, attempts
        """, (source,))
        claimed = sorted(cur.fetchall())
        result = BatchResult(source, [row[0] for row in claimed])
        covered = RESOURCES.get(source, {})
        syncable = []
        for event_id, resources, attempts in claimed:
            unknown = [r for r in resources if r not in covered]
            if unknown:
                self._dead(cur, event_id, source, attempts,
                           f"no sync covers {source} resource {', '.join(map(repr, unknown))}")
                result.dead.append(event_id)
            else:
                syncable.append((event_id, attempts))
        if not syncable:
            return result
        ids = [event_id for event_id, _ in syncable]
        attempt = max(attempts for _, attempts in syncable)
        # the batch's identity: the same events on the same attempt reuse the same Prefect flow run
        key = f"webhooks-{source}-{ids[0]}-{ids[-1]}-{len(ids)}-try{attempt}"
        self.syncs += 1
        outcome = result.outcome = self._attempt(lambda k: self.runner.sync(source, k), key)
        if outcome.ok:
            cur.execute(f"update {ops_schema()}.webhook_events set status = 'done', processed_at = now(), run_id = %s, "
                        "last_error = null where event_id = any(%s) and status = 'processing'", (outcome.run_id, ids))
            return result
        steps = ladder()
        for event_id, attempts in syncable:
            if outcome.transient and attempts <= len(steps):
                cur.execute(f"update {ops_schema()}.webhook_events set status = 'pending', last_error = %s, "
                            "next_attempt_at = now() + make_interval(secs => %s) where event_id = %s",
                            (outcome.message, steps[attempts - 1], event_id))
                result.retrying.append(event_id)
            else:
                why = outcome.message if outcome.transient else f"{outcome.message} (retrying cannot help)"
                self._dead(cur, event_id, source, attempts, why)
                result.dead.append(event_id)
        return result

    @staticmethod
    def _attempt(call, key: str) -> Outcome:
        try:
            return call(key)
        except Exception as exc:  # a bug or the database gone: report it like a failed sync, retry later
            log.exception("webhook processing step failed")
            return Outcome(False, message=mask_text(f"{type(exc).__name__}: {exc}".splitlines()[0]))

    @staticmethod
    def _dead(cur, event_id: int, source: str, attempts: int, reason: str) -> None:
        cur.execute(f"update {ops_schema()}.webhook_events set status = 'dead', last_error = %s where event_id = %s",
                    (reason, event_id))
        # a replayed dead letter that fails again keeps its one row, with the new reason
        cur.execute(f"update {ops_schema()}.dead_letter set reason = %s, attempts = attempts + %s, dead_at = now() "
                    "where event_id = %s and status = 'open'", (reason, attempts, event_id))
        if cur.rowcount == 0:
            cur.execute(f"insert into {ops_schema()}.dead_letter (event_id, source, reason, attempts) values (%s, %s, %s, %s)",
                        (event_id, source, reason, attempts))
        log.warning("webhook event %s (%s) dead-lettered: %s", event_id, source, reason)

    # -- in the background -----------------------------------------------------------------
    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # keep serving: the next pass tries again
                log.warning("webhook processor pass failed: %s", mask_text(str(exc).splitlines()[0] if str(exc) else
                                                                          type(exc).__name__))
            self._stop.wait(self.poll)

    def start(self) -> Processor:
        self._thread = threading.Thread(target=self.run_forever, name="seamline-webhooks", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
