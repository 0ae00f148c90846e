"""A time cursor read with an overlap window, deduplicated on the primary key.

APIs filter on an exclusive bound with one-second timestamps, and rows committed late
can carry an older timestamp than rows already read. So every run asks again from
`last_value - overlap` and drops the records it already holds at exactly the same
modified time. The state lives in the dlt resource state, which dlt commits together
with the load package: the cursor only moves with the data it covers.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.seen import SeenKeys


def parse_utc(value: str) -> datetime:
    """A vendor timestamp without zone is UTC (WooCommerce `_gmt` fields)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def format_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


PRUNE_EVERY = 10_000  # records between trims of the window


class OverlapCursor:
    """The run remembers the records near the top of the cursor (the overlap: they come back with
    the same time). A stream whose records change also remembers which keys it met this run
    (SeenKeys: about ten bytes a key), to catch a record that changes while the walk is under way;
    `immutable` streams (Klaviyo events) need not."""

    def __init__(self, state: dict, *, overlap: timedelta, initial: datetime | None = None,
                 immutable: bool = False):
        self._state = state.setdefault("cursor", {"last_value": None, "boundary": {}})
        self.overlap = overlap
        self.initial = initial
        self._prune_at = PRUNE_EVERY
        self.before = self._state["last_value"]
        self._max: datetime | None = parse_utc(self.before) if self.before else None
        self._seen: dict[str, str] = dict(self._state.get("boundary") or {})
        # key -> (modified, its parsed time), for the records near the top: pruning compares
        # the times without parsing the text again
        self._window: dict[str, tuple[str, datetime]] = {}
        self._met = None if immutable else SeenKeys()
        self._deferred: datetime | None = None  # the oldest change met twice this run

    def start(self) -> datetime | None:
        """The lower bound to ask the API for (None: from the beginning)."""
        if self._max is None:
            return self.initial
        return self._max - self.overlap

    def is_new(self, key, modified: str) -> bool:
        """True unless the record was already loaded (or yielded this run) at this same modified time.

        A record met again in this run with another modified time changed while the walk was
        under way. Its first version is already on its way to this run's load, and one load
        holds one version of a record (two would be two rows with one key), so the change waits
        for the next run: the cursor will stop short of it."""
        key = str(key)
        earlier = self._window.get(key)
        if earlier is not None and earlier[0] == modified:
            return False  # read again in the overlap
        # met earlier this run with another time (in the window, or below it: a record at its old
        # time below the window's floor cannot come back, the API's bound is above it); `meet`
        # remembers the key, as every caller observes what is_new admits
        if earlier is not None or (self._met is not None and self._met.meet(key)):
            ts = parse_utc(modified)
            self._deferred = ts if self._deferred is None else min(self._deferred, ts)
            return False
        return self._seen.get(key) != modified

    def observe(self, key, modified: str) -> None:
        """Count a record we are about to yield; keep the ones inside the overlap window."""
        ts = parse_utc(modified)
        self._window[str(key)] = (modified, ts)
        if self._max is None or ts > self._max:
            self._max = ts
        if len(self._window) >= self._prune_at:
            floor = self._max - self.overlap  # only the top can repeat (the overlap) or reach the boundary
            self._window = {k: v for k, v in self._window.items() if v[1] >= floor}
            self._prune_at = max(PRUNE_EVERY, 2 * len(self._window))

    def commit(self) -> None:
        """Write the new position into the resource state (called once the pages are read)."""
        if self._max is None:
            return
        if self._deferred is not None and self._deferred <= self._max:
            self._max = self._deferred - timedelta(seconds=1)  # the bound is exclusive
        floor = self._max - self.overlap
        boundary = {k: v for k, v in self._seen.items() if k not in self._window and parse_utc(v) >= floor}
        boundary.update((k, modified) for k, (modified, ts) in self._window.items() if ts >= floor)
        self._state["boundary"] = boundary
        self._state["last_value"] = format_utc(self._max)

    @property
    def after(self) -> str | None:
        return format_utc(self._max) if self._max else None
