"""Compact storage helpers: records kept as columns of machine ints, seen through small views.

A million-order world cannot afford a Python object (and its datetimes, Decimals and lists) per
order, line, sale and invoice. The stores keep such records as `array` columns (one slot per
record) and hand out views: tiny objects with properties that read and write the columns, so
code that says `order.status = "completed"` or `sum(line.price for line in order.lines)` keeps
working. Times are whole epoch seconds (the world's clock never has sub-second times); money is
integer cents or an index into a small table of Decimals shared by every record.
"""

from __future__ import annotations

import hashlib
from array import array
from datetime import datetime, timedelta, timezone
from decimal import Decimal

NO_TIME = -(1 << 62)  # a time column's None

_UTC = timezone.utc
_DECIMAL_CENTS: dict[int, Decimal] = {}


def to_ts(dt: datetime | None) -> int:
    """Epoch seconds of an aware datetime (None -> NO_TIME)."""
    return NO_TIME if dt is None else int(dt.timestamp())


def from_ts(ts: int) -> datetime | None:
    """The UTC datetime of epoch seconds (NO_TIME -> None)."""
    return None if ts == NO_TIME else datetime.fromtimestamp(ts, _UTC)


def cents(value: Decimal) -> int:
    """A money Decimal with at most two places, in integer cents."""
    return int(value.scaleb(2))


def from_cents(n: int) -> Decimal:
    """Integer cents as the two-place Decimal it came from (shared, immutable)."""
    d = _DECIMAL_CENTS.get(n)
    if d is None:
        if len(_DECIMAL_CENTS) > 100_000:
            _DECIMAL_CENTS.clear()
        d = _DECIMAL_CENTS[n] = Decimal(n).scaleb(-2)
    return d


def time_column(name: str, doc: str | None = None) -> property:
    """A read/write datetime property over the int column `name` of the view's table."""

    def get(self):
        ts = getattr(self._s, name)[self._i]
        return None if ts == NO_TIME else datetime.fromtimestamp(ts, _UTC)

    def put(self, value):
        getattr(self._s, name)[self._i] = NO_TIME if value is None else int(value.timestamp())

    return property(get, put, doc=doc)


def int_column(name: str, doc: str | None = None, writable: bool = True) -> property:
    def get(self):
        return getattr(self._s, name)[self._i]

    def put(self, value):
        getattr(self._s, name)[self._i] = value

    return property(get, put if writable else None, doc=doc)


def code_column(name: str, values: tuple, doc: str | None = None) -> property:
    """A read/write property over a column of small codes standing for `values`."""
    index = {v: i for i, v in enumerate(values)}

    def get(self):
        return values[getattr(self._s, name)[self._i]]

    def put(self, value):
        getattr(self._s, name)[self._i] = index[value]

    return property(get, put, doc=doc)


class View:
    """A record seen through its store's columns: (store, row index). Equal when both are."""

    __slots__ = ("_s", "_i")

    def __init__(self, store, i: int):
        self._s = store
        self._i = i

    def __eq__(self, other):
        return type(other) is type(self) and other._s is self._s and other._i == self._i

    def __hash__(self):
        return hash((type(self).__name__, self._i))

    def __repr__(self):
        return f"<{type(self).__name__} row {self._i}>"


def _id_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class IdIndex:
    """Finds a row by the id the API shows for it (a hash-derived string such as a GUID) without
    keeping a million id strings: an open-addressing table of rows keyed by a 64-bit digest of the
    id (about 16 bytes a row), built lazily on the first lookup and extended as rows are appended.

    `ident(row)` gives a row's id; rows are never removed or renumbered."""

    def __init__(self, ident):
        self._ident = ident
        self._keys = array("Q")  # row -> digest of its id
        self._slots = array("I", bytes(4 * 1024))  # row + 1, 0 = empty
        self._mask = 1023

    def find(self, rid: str, count: int) -> int | None:
        """The row among the first `count` whose id is `rid`, or None."""
        if count > len(self._keys):
            self._extend(count)
        key = _id_key(rid)
        slots, keys, mask = self._slots, self._keys, self._mask
        pos = key & mask
        while slots[pos]:
            row = slots[pos] - 1
            if keys[row] == key and row < count and self._ident(row) == rid:
                return row
            pos = (pos + 1) & mask
        return None

    def _extend(self, count: int) -> None:
        ident, keys = self._ident, self._keys
        start = len(keys)
        keys.extend(_id_key(ident(row)) for row in range(start, count))
        if 2 * count > self._mask + 1:
            size = self._mask + 1
            while 2 * count > size:
                size *= 2
            self._slots = array("I", bytes(4 * size))
            self._mask = size - 1
            start = 0
        slots, mask = self._slots, self._mask
        for row in range(start, count):
            pos = keys[row] & mask
            while slots[pos]:
                pos = (pos + 1) & mask
            slots[pos] = row + 1


_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_DAY_TEXT: dict[int, str] = {}
_ZONE_OFFSETS: dict[tuple[object, int], int] = {}
_DAY_OFFSETS: dict[tuple[object, int], object] = {}
_MIXED = object()  # a day on which the zone's offset changes


def utc_text(ts: int) -> str:
    """`from_ts(ts).strftime("%Y-%m-%dT%H:%M:%S")`, without making a datetime (the day is cached)."""
    day, second = divmod(ts, 86400)
    text = _DAY_TEXT.get(day)
    if text is None:
        text = _DAY_TEXT[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{text}{hour:02d}:{minute:02d}:{second:02d}"


def _offset(zone, ts: int) -> int:
    return int(datetime.fromtimestamp(ts, zone).utcoffset().total_seconds())


def zone_offset(ts: int, zone) -> int:
    """The UTC offset (seconds) of `zone` at epoch second `ts`.

    Looked up once per UTC day when the offset is the same at both ends of the day; on the day
    of a change, once per quarter hour (zones change offset on a quarter hour)."""
    day = ts // 86400
    offset = _DAY_OFFSETS.get((zone, day))
    if offset is None:
        start = _offset(zone, day * 86400)
        offset = _DAY_OFFSETS[(zone, day)] = start if start == _offset(zone, day * 86400 + 86400) else _MIXED
    if offset is not _MIXED:
        return offset
    key = (zone, ts // 900)
    offset = _ZONE_OFFSETS.get(key)
    if offset is None:
        offset = _ZONE_OFFSETS[key] = _offset(zone, ts // 900 * 900)
    return offset


def zone_text(ts: int, zone) -> str:
    """`from_ts(ts).astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")`: the wall time in `zone`."""
    return utc_text(ts + zone_offset(ts, zone))
