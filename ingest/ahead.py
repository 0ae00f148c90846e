"""Fetch the next pages while the current one is processed.

A walk of cursor pages alternates between waiting for the API and turning a page into rows: the
two can overlap, because the wait releases the GIL. `read_ahead` runs the page iterator (requests
and JSON parsing only) in a thread of its own, at most `depth` pages ahead; pages and the error
that ends a walk arrive in their order. Cursor state stays with the consumer: a page fetched
ahead but never processed is never counted as read.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(pages: Iterable[T], depth: int = 2) -> Iterator[T]:
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        walk = iter(pages)
        try:
            for page in walk:
                if not hand_over((page, None)):
                    break
            else:
                hand_over((_END, None))
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer, in order
            hand_over((_END, exc))
        finally:
            close = getattr(walk, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            page, error = slots.get()
            if page is _END:
                if error is not None:
                    raise error
                return
            yield page
    finally:
        stop.set()  # the consumer stopped early or failed: the producer ends at its next page
        worker.join(timeout=30)
