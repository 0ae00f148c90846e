"""The retry ladder of the source documents: now, 5 minutes, 30 minutes, 2 hours, then a person.

The delays are configuration (`SEAMLINE_RETRY_LADDER`, seconds, comma-separated) so tests can
walk the whole ladder in seconds. Only transient failures climb it: a refused credential or a
request the vendor rejects goes straight to the manual queue.
"""

from __future__ import annotations

import os

DEFAULT_LADDER = (0, 300, 1800, 7200)


def ladder() -> list[float]:
    raw = os.environ.get("SEAMLINE_RETRY_LADDER")
    if not raw:
        return list(DEFAULT_LADDER)
    return [float(step) for step in raw.replace(" ", "").split(",") if step]


class SyncFailed(Exception):
    """A sync that did not succeed; `transient` says whether waiting could help."""

    def __init__(self, message: str, *, transient: bool, needs: str, result=None):
        super().__init__(message)
        self.transient = transient
        self.needs = needs
        self.result = result  # the ingest.sync.SourceResult, when there is one


def retry_transient_only(task, task_run, state) -> bool:
    """Prefect `retry_condition_fn`: climb the ladder only for failures that time can fix."""
    try:
        state.result()
    except SyncFailed as exc:
        return exc.transient
    except Exception:  # an unexpected error (a bug, the database gone): retrying is the safe bet
        return True
    return False


def on_ladder(task, steps: list[float] | None = None):
    """The task with the ladder's retries (default: the configured ladder), transient failures only."""
    steps = ladder() if steps is None else steps
    return task.with_options(retries=len(steps), retry_delay_seconds=steps or 0,
                             retry_condition_fn=retry_transient_only)
