"""WooCommerce paging: keyset over the modified time, and Link-header paging where there is none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ingest.cursor import OverlapCursor, format_utc, parse_utc
from ingest.http import HttpClient, SourceError


class WooCommerceClient(HttpClient):
    def __init__(self, base_url: str, consumer_key: str, consumer_secret: str, stats=None, **kwargs):
        super().__init__("woocommerce", stats, secrets=(consumer_key, consumer_secret), **kwargs)
        self.base_url = base_url.rstrip("/")
        self.session.auth = (consumer_key, consumer_secret)

    def get_page(self, url: str, params: dict | None, resource: str) -> tuple[list[dict], dict]:
        body, response = self.get_json(url, params=params, resource=resource, validate=_bare_array)
        return body, response.links

    def exists(self, path: str, resource: str) -> bool:
        """True unless the record answers 404 (gone for good)."""
        try:
            self.request("GET", f"{self.base_url}/{path}", resource=resource)
        except SourceError as exc:
            if "HTTP 404" in str(exc):
                return False
            raise
        return True

    def walk_links(self, path: str, params: dict, resource: str) -> Iterator[list[dict]]:
        """Follow `Link: rel="next"` to the end (for lists with a stable order, e.g. by id)."""
        url, query = f"{self.base_url}/{path}", params
        while url:
            items, links = self.get_page(url, query, resource)
            yield items
            url, query = links.get("next", {}).get("url"), None

    def walk_modified(self, path: str, params: dict, since: datetime | None, resource: str,
                      page_size: int) -> Iterator[list[dict]]:
        """Keyset paging over `date_modified_gmt`.

        Page numbers over a list sorted by modified time skip records when a record on an
        earlier page is modified mid-sync (everything after it shifts forward by one). So each
        request restarts from the last timestamp seen (minus one second, as the bound is
        exclusive); callers dedupe the few repeats. Only when a whole page shares one second
        do we step page numbers inside that second.
        """
        floor, page = since, 1
        while True:
            query = {**params, "per_page": page_size, "page": page, "orderby": "modified", "order": "asc",
                     "dates_are_gmt": "true"}
            if floor is not None:
                query["modified_after"] = format_utc(floor)
            items, _ = self.get_page(f"{self.base_url}/{path}", query, resource)
            if items:
                yield items
            if len(items) < page_size:
                return
            next_floor = parse_utc(items[-1]["date_modified_gmt"]) - timedelta(seconds=1)
            if floor is not None and next_floor <= floor:
                page += 1
            else:
                floor, page = next_floor, 1


def fresh(cursor: OverlapCursor, page: list[dict]) -> list[dict]:
    """The records of a page the cursor does not hold yet at their modified time (now counted)."""
    new = []
    for item in page:
        if cursor.is_new(item["id"], item["date_modified_gmt"]):
            cursor.observe(item["id"], item["date_modified_gmt"])
            new.append(item)
    return new


def _bare_array(body) -> str | None:
    return None if isinstance(body, list) else f"expected a JSON array, got {type(body).__name__}"
