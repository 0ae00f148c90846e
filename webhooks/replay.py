"""`seamline retry --dead-letter ID`: sync the source a dead-lettered event names, now, and close
the dead letter when the sync succeeds (the event is then marked done with that run)."""

from __future__ import annotations

import logging
import os

from seamline.database import Database
from seamline.errors import SeamlineError
from seamline.ops import ops_schema
from webhooks.runners import Outcome, default_runner
from webhooks.store import dead_letters
from webhooks.vendors import RESOURCES

log = logging.getLogger(__name__)


def replay_dead_letter(db: Database, dead_id: int, runner=None, transform: bool | None = None) -> Outcome:
    """The sync's outcome; after a successful one, a dbt build (unless WEBHOOKS_TRANSFORM=off), whose
    failure is logged but does not undo the replay: the data has landed."""
    letter = next((d for d in dead_letters(db, status=None) if d.dead_id == dead_id), None)
    if letter is None:
        raise SeamlineError(f"no dead letter {dead_id}")
    if letter.status != "open":
        raise SeamlineError(f"dead letter {dead_id} is already {letter.status}")
    unknown = [r for r in letter.resources if r not in RESOURCES.get(letter.source, {})]
    if unknown:
        raise SeamlineError(f"dead letter {dead_id}: still no sync covers {letter.source} resource "
                            f"{', '.join(map(repr, unknown))}")
    runner = runner or default_runner(db)
    outcome = runner.sync(letter.source, f"webhooks-replay-{dead_id}-{letter.attempts}")
    with db.cursor(autocommit=False) as cur:
        if outcome.ok:
            cur.execute(f"update {ops_schema()}.webhook_events set status = 'done', processed_at = now(), run_id = %s, "
                        "last_error = null, attempts = attempts + 1 where event_id = %s",
                        (outcome.run_id, letter.event_id))
            cur.execute(f"update {ops_schema()}.dead_letter set status = 'replayed', replayed_at = now() where dead_id = %s",
                        (dead_id,))
        else:
            cur.execute(f"update {ops_schema()}.dead_letter set reason = %s, attempts = attempts + 1 where dead_id = %s",
                        (outcome.message, dead_id))
    if transform is None:
        transform = os.environ.get("WEBHOOKS_TRANSFORM", "on") != "off"
    if outcome.ok and transform:
        try:
            built = runner.transform(f"webhooks-replay-{dead_id}-transform")
        except Exception as exc:  # reported; the replay itself stands
            built = Outcome(False, message=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if not built.ok:
            log.warning("dbt build after replaying dead letter %s failed: %s", dead_id, built.message)
    return outcome
