"""Finale Inventory reads: column-major collections, `lastUpdatedDate` windows, the entity cap, limits."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import requests

from ingest.cursor import format_utc
from ingest.finale.settings import MAX_ENTITIES, MAX_RATE_LIMIT_WAIT, MAX_WINDOW, PACE_BELOW_SHARE
from ingest.http import HttpClient, SourceError
from seamline.masking import mask_text

log = logging.getLogger(__name__)


class FinaleClient(HttpClient):
    decimal_numbers = True  # prices, costs and quantities are JSON numbers

    def __init__(self, base_url: str, api_key: str, api_secret: str, stats=None, *,
                 max_entities: int = MAX_ENTITIES, max_wait: float = MAX_RATE_LIMIT_WAIT,
                 pace_below_share: float = PACE_BELOW_SHARE, **kwargs):
        super().__init__("finale", stats, secrets=(api_key, api_secret), max_wait=max_wait, **kwargs)
        self.base_url = base_url.rstrip("/")
        self.session.auth = (api_key, api_secret)
        self.session.headers["Accept"] = "application/json"
        # Finale's 429 names its reset as X-RateLimit-Reset (a Unix time), not Retry-After
        self.session.hooks["response"].append(reset_as_retry_after)
        self.max_entities = max_entities
        self.pace_below_share = pace_below_share
        self.not_before = 0.0  # time.monotonic() before which the next request waits (pacing)

    # -- limits ----------------------------------------------------------------------
    def pace(self, response: requests.Response) -> None:
        """Successful responses carry the minute window's X-RateLimit-Limit/-Remaining/-Reset. Under a
        tenth (`pace_below_share`) left, spread the remaining requests until the reset (with none left:
        wait for it), so the window refills instead of ending in a 429."""
        limit = _number(response.headers.get("X-RateLimit-Limit"))
        remaining = _number(response.headers.get("X-RateLimit-Remaining"))
        reset = _number(response.headers.get("X-RateLimit-Reset"))
        if not limit or remaining is None or reset is None or remaining >= limit * self.pace_below_share:
            return
        wait = seconds_until(reset)
        if 0 < wait <= self.max_wait:
            pause = wait / (remaining + 1) + (0.1 if remaining <= 0 else 0.0)
            self.not_before = time.monotonic() + pause

    def _describe(self, response: requests.Response, what: str) -> str:
        """Finale explains a refusal in plain text (e.g. the 30-day filter rule): keep its first line."""
        text = super()._describe(response, what)
        if text.endswith(f"HTTP {response.status_code}"):
            first = next((line.strip() for line in response.text.splitlines() if line.strip()), "")
            if first and not first.startswith("<"):
                text = mask_text(f"{text} ({first[:200]})", self.secrets)
        return text

    # -- reads -----------------------------------------------------------------------
    def read(self, collection: str, key: str, resource: str, spec: dict | None = None) -> list[dict]:
        """One collection read (optionally filtered), as rows."""
        if (pause := self.not_before - time.monotonic()) > 0:
            log.debug("finale %s: rate-limit window nearly used, pausing %.2fs", resource, pause)
            time.sleep(pause)
        params = {"filter": encode_filter(spec)} if spec else None
        body, response = self.get_json(f"{self.base_url}/{collection}", params=params, resource=resource,
                                       validate=lambda b: columns_problem(b, key))
        self.pace(response)
        return zip_columns(body)

    def read_whole(self, collection: str, key: str, resource: str) -> list[dict]:
        """An unfiltered read; one that hits the entity cap would be silently cut, so it fails instead."""
        rows = self.read(collection, key, resource)
        if len(rows) >= self.max_entities:
            raise SourceError(f"finale: {resource}: /{collection} returned {len(rows)} entities, the per-response "
                              "cap: the rest would be silently missing, so nothing was loaded")
        return rows

    def updated_since(self, collection: str, key: str, resource: str, since: datetime,
                      now: datetime | None = None) -> Iterator[list[dict]]:
        """Every record updated at or after `since`, in `lastUpdatedDate` windows of at most 30 days.

        Each window has both bounds except the last, which runs open to the server's now (so its clock,
        not ours, decides what is current). Windows are closed ranges: a record stamped on a boundary
        comes twice and the caller drops the repeat by key."""
        now = now or datetime.now(timezone.utc)
        low = since
        while low + MAX_WINDOW < now:
            yield from self._window(collection, key, resource, low, low + MAX_WINDOW)
            low += MAX_WINDOW
        yield from self._window(collection, key, resource, low, None)

    def _window(self, collection: str, key: str, resource: str, low: datetime,
                high: datetime | None) -> Iterator[list[dict]]:
        spec = {"lastUpdatedDate": [format_utc(low), format_utc(high) if high else None]}
        rows = self.read(collection, key, resource, spec)
        if len(rows) < self.max_entities:
            if rows:
                yield rows
            return
        # exactly the cap: the response was cut somewhere. Halve the window and read both halves again.
        top = high or datetime.now(timezone.utc).replace(microsecond=0)
        span = int((top - low).total_seconds())
        if span < 2:
            raise SourceError(f"finale: {resource}: more than {self.max_entities} entities updated within one "
                              f"second at {format_utc(low)}; the API cannot page them")
        middle = low + timedelta(seconds=span // 2)
        log.info("finale %s: %d entities (the cap) in %s..%s, splitting at %s", resource, len(rows),
                 format_utc(low), format_utc(high) if high else "now", format_utc(middle))
        yield from self._window(collection, key, resource, low, middle)
        yield from self._window(collection, key, resource, middle, high)


def encode_filter(spec: dict) -> str:
    """Finale's `filter` parameter: base64 of a JSON object of [low, high] pairs."""
    return base64.b64encode(json.dumps(spec, separators=(",", ":")).encode()).decode()


def columns_problem(body, key: str) -> str | None:
    """Why a body is not a column-major collection, or None. Unequal arrays are malformed, not empty."""
    if not isinstance(body, dict):
        return f"expected a column-major object, got {type(body).__name__}"
    if key not in body:
        return f"the key column `{key}` is missing (columns: {', '.join(list(body)[:8]) or 'none'})"
    not_lists = [name for name, values in body.items() if not isinstance(values, list)]
    if not_lists:
        return f"column(s) {', '.join(not_lists[:5])} are not arrays"
    lengths = {name: len(values) for name, values in body.items()}
    if len(set(lengths.values())) > 1:
        short = min(lengths, key=lengths.get)
        return (f"column arrays of unequal length ({min(lengths.values())}..{max(lengths.values())}, "
                f"e.g. `{short}` has {lengths[short]})")
    return None


def zip_columns(body: dict) -> list[dict]:
    """Finale's column-major collection as rows: {"a": [1, 2], "b": [3, 4]} -> [{a: 1, b: 3}, {a: 2, b: 4}].

    Only for bodies `columns_problem` accepted (arrays of one length)."""
    names = list(body)
    return [dict(zip(names, values, strict=True)) for values in zip(*body.values(), strict=True)]


def reset_as_retry_after(response: requests.Response, *args, **kwargs) -> requests.Response:
    """A requests response hook: give a 429 without Retry-After one computed from X-RateLimit-Reset,
    so the HTTP client waits exactly until the reset (or stops cleanly when that is too far off)."""
    if response.status_code == 429 and "Retry-After" not in response.headers:
        reset = _number(response.headers.get("X-RateLimit-Reset"))
        if reset is not None:
            response.headers["Retry-After"] = f"{seconds_until(reset) + 0.1:.1f}"
    return response


def seconds_until(reset: float) -> float:
    """X-RateLimit-Reset is a Unix time; a small number is read as seconds from now."""
    if reset < 1_000_000_000:
        return max(0.0, reset)
    return max(0.0, reset - time.time())


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
