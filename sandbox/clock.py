"""An injectable clock: the sandbox world's time moves only when told to."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = start.astimezone(timezone.utc).replace(microsecond=0)

    def now(self) -> datetime:
        return self._now

    def advance(self, hours: float) -> datetime:
        self._now = self._now + timedelta(seconds=round(hours * 3600))
        return self._now
