"""Lightspeed X-Series paging: the `version` cursor is both the page token and the incremental position."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import requests

from ingest.http import HttpClient
from ingest.lightspeed.settings import (
    MAX_PACE_SECONDS,
    MAX_RATE_LIMIT_WAIT,
    PACE_BELOW_SHARE,
    PAGE_SIZE,
    RATE_WINDOW_SECONDS,
)

log = logging.getLogger(__name__)


class LightspeedClient(HttpClient):
    decimal_numbers = True  # prices and taxes are JSON numbers with up to 5 decimals

    def __init__(self, base_url: str, access_token: str, stats=None, *, max_pace_seconds: float = MAX_PACE_SECONDS,
                 max_wait: float = MAX_RATE_LIMIT_WAIT, **kwargs):
        super().__init__("lightspeed", stats, secrets=(access_token,), max_wait=max_wait, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.session.headers["Authorization"] = f"Bearer {access_token}"
        self.session.headers["Accept"] = "application/json"
        self.max_pace_seconds = max_pace_seconds
        self.not_before = 0.0  # time.monotonic() before which the next request waits (pacing)

    def pace(self, response: requests.Response) -> None:
        """X-Series sends X-RateLimit-Limit / -Remaining (no reset time) for a 5-minute window. While
        plenty is left we go at full speed; under a tenth left, we slow to the sustainable rate
        (window / limit per request) so the window refills instead of ending in a 429."""
        limit = _int(response.headers.get("X-RateLimit-Limit"))
        remaining = _int(response.headers.get("X-RateLimit-Remaining"))
        if limit and remaining is not None and remaining < limit * PACE_BELOW_SHARE:
            self.not_before = time.monotonic() + min(self.max_pace_seconds, RATE_WINDOW_SECONDS / limit)

    def get_page(self, path: str, params: dict, resource: str, after: int) -> dict:
        if (pause := self.not_before - time.monotonic()) > 0:
            log.debug("lightspeed %s: rate-limit window nearly used, pausing %.2fs", resource, pause)
            time.sleep(pause)
        body, response = self.get_json(f"{self.base_url}/{path}", params=params, resource=resource,
                                       validate=lambda b: page_problem(b, after))
        self.pace(response)
        return body

    def walk(self, path: str, after: int, resource: str, page_size: int = PAGE_SIZE,
             include_deleted: bool = True) -> Iterator[tuple[list[dict], int]]:
        """Pages of records with a version above `after`, each with its `version.max`.

        The next page asks `after=version.max`; an empty `data` ends the walk. `deleted=true` asks for
        soft-deleted records too (they carry `deleted_at`)."""
        while True:
            params = {"after": after, "page_size": min(page_size, PAGE_SIZE)}
            if include_deleted:
                params["deleted"] = "true"
            body = self.get_page(path, params, resource, after)
            rows = body["data"]
            if not rows:
                return
            top = body["version"]["max"]
            yield rows, top
            after = top


def page_problem(body, after: int) -> str | None:
    """Why a page is not a Lightspeed 2.0 collection page, or None. An empty page may omit `version`."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return "expected an object with a `data` list"
    rows = body["data"]
    if not rows:
        return None
    if not all(isinstance(row, dict) and row.get("id") for row in rows):
        return "a record without an id"
    version = body.get("version")
    top = version.get("max") if isinstance(version, dict) else None
    if not isinstance(top, int) or isinstance(top, bool):
        return "a page of records without `version.max`"
    if top <= after:
        # would page forever: the cursor must move past the version we asked after
        return f"version.max {top} does not move past after={after}"
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
