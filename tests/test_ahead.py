"""read_ahead: pages in order, the walk's error where the walk raised it, an early stop ends the walk."""

from __future__ import annotations

import threading

import pytest

from ingest.ahead import read_ahead


def test_pages_arrive_in_order_and_the_next_is_fetched_while_the_consumer_works():
    fetched: list[int] = []
    next_fetched = threading.Event()

    def walk():
        for i in range(6):
            fetched.append(i)
            if i == 1:
                next_fetched.set()
            yield [i]

    got = []
    for page in read_ahead(walk()):
        if page == [0]:
            # still holding page 0: page 1 arrives meanwhile
            assert next_fetched.wait(5)
        got.append(page[0])
    assert got == list(range(6)) and fetched == list(range(6))


def test_the_walks_error_arrives_after_the_pages_before_it():
    def walk():
        yield 1
        yield 2
        raise ValueError("page 3 is malformed")

    got = []
    with pytest.raises(ValueError, match="page 3"):
        for page in read_ahead(walk()):
            got.append(page)
    assert got == [1, 2]


def test_a_consumer_that_stops_early_ends_the_walk_and_its_thread():
    closed = threading.Event()

    def walk():
        try:
            yield from range(1000)
        finally:
            closed.set()

    pages = read_ahead(walk(), depth=2)
    assert next(pages) == 0
    pages.close()
    assert closed.wait(5)  # the walk's own cleanup ran, at most a couple of pages further on
    assert not any(t.name == "read-ahead" and t.is_alive() for t in threading.enumerate())
