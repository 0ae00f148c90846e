"""The overlap cursor's memory and its rules for records met twice in one walk."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.cursor import OverlapCursor, format_utc

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def walk(cursor: OverlapCursor, records: list[tuple[str, str]]) -> list[str]:
    kept = []
    for key, modified in records:
        if cursor.is_new(key, modified):
            cursor.observe(key, modified)
            kept.append(key)
    return kept


def test_an_immutable_stream_remembers_only_the_top_of_a_long_walk():
    state: dict = {}
    cursor = OverlapCursor(state, overlap=timedelta(minutes=30), immutable=True)
    events = [(f"e{i}", format_utc(T0 + timedelta(seconds=10 * i))) for i in range(100_000)]  # 11.5 days
    assert walk(cursor, events) == [key for key, _ in events]
    assert len(cursor._window) < 20_000  # not 100,000: the window keeps the last half hour and a batch
    # a repeat inside the overlap (the next window starts at >= its lower bound) is still dropped
    assert walk(cursor, events[-5:]) == []
    cursor.commit()
    assert state["cursor"]["last_value"] == events[-1][1]
    assert set(state["cursor"]["boundary"]) == {f"e{i}" for i in range(100_000 - 181, 100_000)}  # the last 30 min


def test_a_record_met_again_with_a_newer_time_waits_for_the_next_run():
    state: dict = {}
    cursor = OverlapCursor(state, overlap=timedelta(minutes=5))
    first = [(f"o{i}", format_utc(T0 + timedelta(hours=i))) for i in range(10)]
    changed = ("o2", format_utc(T0 + timedelta(hours=20)))  # o2 changed while the walk was under way
    later = [(f"o{i}", format_utc(T0 + timedelta(hours=i))) for i in range(21, 24)]
    assert walk(cursor, [*first, changed, *later]) == [key for key, _ in first + later]
    cursor.commit()
    # the position stops a second short of the held-back version, so the next run reads it
    assert state["cursor"]["last_value"] == format_utc(T0 + timedelta(hours=20) - timedelta(seconds=1))
    again = OverlapCursor(state, overlap=timedelta(minutes=5))
    assert again.start() < T0 + timedelta(hours=20)
    assert walk(again, [changed, *later]) == ["o2"]  # the records after it are in the boundary


def test_a_changing_stream_catches_a_change_far_below_the_window_and_keeps_only_the_top():
    state: dict = {}
    cursor = OverlapCursor(state, overlap=timedelta(minutes=30))
    orders = [(f"o{i}", format_utc(T0 + timedelta(seconds=10 * i))) for i in range(100_000)]
    changed = ("o5", format_utc(T0 + timedelta(days=30)))  # o5 changed long after the walk passed it
    assert walk(cursor, [*orders, changed]) == [key for key, _ in orders]
    assert len(cursor._window) < 20_000  # the times of the top only; the keys met are hashes
    cursor.commit()
    assert state["cursor"]["last_value"] == orders[-1][1]  # not past the held-back change
    assert walk(OverlapCursor(state, overlap=timedelta(minutes=30)), [changed]) == ["o5"]


def test_seen_keys_answers_exactly_through_flushes_and_growth():
    from ingest.seen import SeenKeys

    seen = SeenKeys()
    met = [f"k{i}" for i in range(0, 400_000, 2)]
    assert not any(seen.meet(key) for key in met)  # 200,000 keys: sorted arrays and a grown filter
    assert len(seen) == 200_000 and len(seen._sorted) > 1 and seen._nbits > 1 << 20
    assert all(seen.meet(key) for key in met)  # each met again, whichever array holds it
    assert len(seen) == 200_000
    assert not any(f"k{i}" in seen for i in range(1, 400_000, 2))  # never met: never "met"
    assert seen.meet(7) is False and 7 in seen  # any hashable key
