"""Routes of the simulated Lightspeed Retail X-Series API 2.0 (`/lightspeed/api/2.0`).

Follows the real API where connectors trip:
- Bearer token auth; a wrong or missing token gets 401 with the X-Series two-field error body.
- Paging IS the incremental cursor: `after=<version>&page_size=<n>`; the body is
  `{"data": [...], "version": {"min", "max"}}` and the next page asks `after=version.max`. The version
  counter is global to the retailer (one counter for every resource), so a collection's versions
  have gaps. An empty page is `{"data": []}` (no `version` key): that ends the walk.
- `page_size` above 200 is clamped to 200 (`page_size_over_max = "reject"` answers 400 instead).
- Soft deletes: `deleted_at` is set; deleted rows are returned only with `deleted=true`
  (*unverified*; `deleted_rows = "always"` returns them regardless).
- Rate limit: 300 x registers + 50 authorised requests per 5-minute window for the retailer. Every
  response carries `X-RateLimit-Limit` / `X-RateLimit-Remaining`; with the `rate_limit` fault on,
  the request over the limit gets 429 `{"error": "Too Many Requests", "message": "Rate limiting
  enforced"}` and `Retry-After` as an HTTP date (RFC 1123), not seconds. `rate_limit=<n>` sets the
  limit to n (small worlds, quick tests). The limiter's clock is `time_source` (injectable).
"""

from __future__ import annotations

import bisect
import math
import time
from array import array
from email.utils import formatdate

from starlette.requests import Request
from starlette.routing import Route

from sandbox.columns import IdIndex
from sandbox.http import json_response
from sandbox.lightspeed.render import (
    apply_drift,
    render_customer,
    render_inventory,
    render_outlet,
    render_product,
    render_register,
    render_sale,
)
from sandbox.lightspeed.store import LsSale

ACCESS_TOKEN = "lsxs_pt_seamline_sandbox_5b8e2d71c4"
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 100
WINDOW_SECONDS = 300


def _error(error: str, message: str, status: int, headers: dict | None = None):
    return json_response({"error": error, "message": message}, status, headers)


class RateWindow:
    """A fixed window counter: `limit` requests per `seconds`, started by the first request."""

    def __init__(self, seconds: int, now):
        self.seconds = seconds
        self.now = now
        self.start: float | None = None
        self.count = 0

    def hit(self, limit: int, enforce: bool) -> tuple[bool, int, float]:
        """Count one request; return (allowed, remaining, window reset time)."""
        now = self.now()
        if self.start is None or now >= self.start + self.seconds:
            self.start, self.count = now, 0
        reset = self.start + self.seconds
        if enforce and self.count >= limit:
            return False, 0, reset
        self.count += 1
        return True, max(0, limit - self.count), reset


class LightspeedAPI:
    name = "lightspeed"
    prefix = "/lightspeed/api/2.0"
    time_source = time.time  # the limiter's clock: tests replace it so they never sleep
    page_size_over_max = "clamp"  # "clamp" | "reject"
    deleted_rows = "with_flag"  # unverified: "with_flag" (only with deleted=true) | "always"

    def __init__(self, world, faults=None, now=None):
        self.world = world
        self.faults = faults
        self.now = now or (lambda: type(self).time_source())
        self._window = RateWindow(WINDOW_SECONDS, self.now)
        self._index: dict[tuple, object] = {}  # sorted collections, per store version
        self._ids: dict[str, IdIndex] = {}  # UUID -> row, per kind

    def settings(self, base_url: str) -> dict[str, str]:
        return {
            "SOURCES__LIGHTSPEED__BASE_URL": f"{base_url}{self.prefix}",
            "SOURCES__LIGHTSPEED__ACCESS_TOKEN": ACCESS_TOKEN,
        }

    @property
    def store(self):
        return self.world.lightspeed

    def routes(self) -> list[Route]:
        routes = []
        for kind in ("sales", "customers", "products", "inventory", "outlets", "registers"):
            routes.append(Route(f"/{kind}", self._lister(kind)))
            routes.append(Route(f"/{kind}/{{id}}", self._getter(kind)))
        return routes

    # -- auth and limits -------------------------------------------------------------
    def rate_limit(self) -> int:
        mode = self.faults.rate_limit if self.faults else None
        if mode and mode.isdigit():
            return int(mode)
        return 300 * len(self.store.registers) + 50

    def _gate(self, request: Request):
        """(refusal response or None, headers for a successful response)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != ACCESS_TOKEN:
            return _error("Unauthorized", "The access token is missing, invalid or expired.", 401,
                          {"WWW-Authenticate": 'Bearer realm="Lightspeed Retail"'}), {}
        limit = self.rate_limit()
        enforce = bool(self.faults and self.faults.rate_limit)
        allowed, remaining, reset = self._window.hit(limit, enforce)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}
        if not allowed:
            headers["Retry-After"] = formatdate(math.ceil(reset), usegmt=True)
            return _error("Too Many Requests", "Rate limiting enforced", 429, headers), {}
        return None, headers

    # -- rendering ---------------------------------------------------------------------
    def _render(self, kind: str, record) -> dict:
        store = self.store
        bad = bool(self.faults and self.faults.bad_data)
        if kind == "sales":
            rid = store.uid("sales", record.id)
            body = render_sale(store, record,
                               negative_quantity=bad and rid in store.bad_data["sales_negative_quantity"],
                               bad_totals=bad and rid in store.bad_data["sales_bad_totals"])
        elif kind == "customers":
            body = render_customer(store, record,
                                   bad=bad and store.uid("customers", record.id)
                                   in store.bad_data["customers_missing_email"])
        else:
            body = {"products": render_product, "inventory": render_inventory, "outlets": render_outlet,
                    "registers": render_register}[kind](store, record)
        return apply_drift(kind, body, self.faults.drift if self.faults else None)

    def _sorted(self, kind: str) -> tuple[list, list[int]]:
        """(records, their versions) in version order; for sales the records are rows (an array)."""
        # every page re-reads the collection: keep it sorted by version, once per store version
        key = (kind, self.store.version)
        if key not in self._index:
            if len(self._index) > 12 or any(k[1] != key[1] for k in self._index):
                self._index.clear()  # one version at a time
            if kind == "sales":
                # (version, row) packed in one int per sale: a million tuples or keys would not fit
                versions = self.store._s_version
                packed = sorted([(versions[r] << 32) | r for r in range(len(versions))])
                rows = array("I", (k & 0xFFFFFFFF for k in packed))
                del packed
                self._index[key] = (rows, array("q", (versions[r] for r in rows)))
            else:
                records = sorted(getattr(self.store, kind).values(), key=lambda r: r.version)
                self._index[key] = (records, [r.version for r in records])
        return self._index[key]

    # -- handlers ----------------------------------------------------------------------
    def _lister(self, kind: str):
        async def handler(request: Request):
            refusal, headers = self._gate(request)
            if refusal is not None:
                return refusal
            q = request.query_params
            try:
                after = int(q.get("after") or 0)
                before = int(q["before"]) if q.get("before") else None
                page_size = int(q.get("page_size") or DEFAULT_PAGE_SIZE)
            except ValueError:
                return _error("Bad Request", "after, before and page_size must be integers", 400, headers)
            if page_size < 1 or after < 0:
                return _error("Bad Request", "page_size must be positive and after not negative", 400, headers)
            if page_size > MAX_PAGE_SIZE:
                if self.page_size_over_max == "reject":
                    return _error("Bad Request", f"page_size must not exceed {MAX_PAGE_SIZE}", 400, headers)
                page_size = MAX_PAGE_SIZE
            with_deleted = self.deleted_rows == "always" or q.get("deleted", "").lower() in ("true", "1")
            with self.world.lock:
                store = self.store
                records, versions = self._sorted(kind)
                rows, picked = [], []
                sales = kind == "sales"
                for i in range(bisect.bisect_right(versions, after), len(records)):
                    if before is not None and versions[i] >= before:
                        break
                    record = LsSale(store, records[i]) if sales else records[i]
                    if getattr(record, "deleted", None) is not None and not with_deleted:
                        continue
                    rows.append(record)
                    picked.append(versions[i])
                    if len(rows) >= page_size:
                        break
                data = [self._render(kind, r) for r in rows]
            if not rows:
                return json_response({"data": []}, headers=headers)
            return json_response({"data": data, "version": {"min": picked[0], "max": picked[-1]}},
                                 headers=headers)

        return handler

    def _getter(self, kind: str):
        async def handler(request: Request):
            refusal, headers = self._gate(request)
            if refusal is not None:
                return refusal
            with self.world.lock:
                store = self.store
                if kind not in self._ids:  # record ids are 1, 2, ... per kind: find the row by its UUID
                    self._ids[kind] = IdIndex(lambda row, kind=kind: store.uid(kind, row + 1))
                records = getattr(store, kind)
                row = self._ids[kind].find(request.path_params["id"], len(records))
                record = None if row is None else records.get(row + 1)
                if record is not None:
                    return json_response({"data": self._render(kind, record)}, headers=headers)
            return _error("Not Found", f"{kind[:-1] if kind != 'inventory' else kind} not found", 404, headers)

        return handler
