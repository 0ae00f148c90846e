"""Klaviyo's JSON:API: the client (auth headers, pacing on RateLimit-*), cursor paging through
`links.next`, and flattening a resource object into one row."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests

from ingest.http import HttpClient, SourceError
from ingest.klaviyo.settings import JSONAPI, LOW_WATER_SHARE, REVISION

log = logging.getLogger(__name__)


class KlaviyoClient(HttpClient):
    # Klaviyo sends money (`$value`, item prices) as JSON numbers: parse them as Decimal
    decimal_numbers = True

    def __init__(self, base_url: str, api_key: str, stats=None, revision: str = REVISION, **kwargs):
        super().__init__("klaviyo", stats, secrets=(api_key,), **kwargs)
        self.base_url = base_url.rstrip("/")
        self.session.headers.update({
            "Authorization": f"Klaviyo-API-Key {api_key}",
            "revision": revision,
            "Accept": JSONAPI,
        })
        # endpoint -> (limit, remaining, reset seconds, monotonic time seen) from the last response
        self._limits: dict[str, tuple[int, int, float, float]] = {}

    # -- pacing ---------------------------------------------------------------------------
    def request(self, method: str, url: str, *, resource: str, **kwargs) -> requests.Response:
        self._pace(resource)
        response = super().request(method, url, resource=resource, **kwargs)
        self._observe(resource, response)
        return response

    def _observe(self, resource: str, response: requests.Response) -> None:
        headers = response.headers
        try:
            limit = int(headers["RateLimit-Limit"])
            remaining = int(headers["RateLimit-Remaining"])
            reset = float(headers.get("RateLimit-Reset") or 0)
        except (KeyError, ValueError):
            return
        self._limits[resource] = (limit, remaining, reset, time.monotonic())

    def _pace(self, resource: str) -> None:
        """Limits are per endpoint; when few calls are left in the window, spread them out
        instead of running into a 429 (Klaviyo counts the refused calls too)."""
        seen = self._limits.get(resource)
        if seen is None:
            return
        limit, remaining, reset, at = seen
        if remaining > max(1, int(limit * LOW_WATER_SHARE)):
            return
        left = reset - (time.monotonic() - at)
        if left <= 0:
            return
        wait = min(self.max_wait, left / (remaining + 1))
        log.info("klaviyo %s: %d calls left for %.0fs, pacing %.1fs", resource, remaining, left, wait)
        time.sleep(wait)

    # -- paging ---------------------------------------------------------------------------
    def walk(self, path: str, params: dict | None, resource: str) -> Iterator[list[dict]]:
        """Follow `links.next` (an absolute URL carrying `page[cursor]`) until it is null."""
        url, query = f"{self.base_url}/{path}/", params
        while url:
            body, _ = self.get_json(url, params=query, resource=resource, validate=jsonapi_page)
            yield body["data"]
            url, query = (body.get("links") or {}).get("next"), None
            if url and not self._same_origin(url):
                # never send the API key anywhere but the API it belongs to
                raise SourceError(f"klaviyo: {resource}: links.next points away from the API ({urlsplit(url).netloc})")

    def _same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)


def jsonapi_page(body) -> str | None:
    """The reason a list page is not a JSON:API document we can trust, or None."""
    if not isinstance(body, dict):
        return f"expected a JSON:API document, got {type(body).__name__}"
    data = body.get("data")
    if not isinstance(data, list):
        return "the `data` array is missing" if data is None else f"`data` is a {type(data).__name__}, not an array"
    if not isinstance(body.get("links"), dict):
        return "the `links` object (paging) is missing"
    for item in data:
        if not isinstance(item, dict) or not item.get("id") or not isinstance(item.get("attributes"), dict):
            return "a resource object without `id` or `attributes`"
    return None


def flatten(resource: dict) -> dict:
    """One row from a JSON:API resource: its attributes, its `id`, and the ids of its
    relationships (`<name>_id` for a to-one, `<name>_ids` for a to-many)."""
    row = dict(resource["attributes"])
    for name, relation in (resource.get("relationships") or {}).items():
        if not isinstance(relation, dict) or "data" not in relation:
            continue  # only links: nothing to keep
        data = relation["data"]
        key = name.replace("-", "_")
        if isinstance(data, list):
            row[f"{key}_ids"] = [d.get("id") for d in data if isinstance(d, dict)]
        else:
            row[f"{key}_id"] = data.get("id") if isinstance(data, dict) else None
    row["id"] = resource["id"]
    return row


def klaviyo_time(dt: datetime) -> str:
    """Filter timestamps need an explicit zone: `Z`."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_in_future(dt: datetime, now: datetime) -> datetime:
    """A lower bound in the future is answered 400: never send one past now."""
    return min(dt, now)
