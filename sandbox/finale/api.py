"""Routes of the simulated Finale Inventory REST API (`/finale/redhillfresh/api`).

Follows the real API where connectors trip:
- HTTP Basic with the API key and secret (wrong or missing: 401, plain text). The legacy session
  login `POST /auth` with {"username", "password"} (the same key and secret here) sets a JSESSIONID
  cookie that is accepted instead.
- Collections (`GET /product`, `/inventoryitem`, `/order`, `/shipment`, `/partygroup`, `/facility`)
  are COLUMN-MAJOR: `{"productId": ["A", "B"], "lastUpdatedDate": [..., ...], ...}`, one array per
  field, all of one length. An empty collection has every field with an empty array. Nested lists
  (orderItemList, ...) stay lists of objects inside their column. Related records are Finale URLs.
- `?filter=<base64 of JSON>`: `{"field": [low, high]}`, closed at both ends, null = unbounded; any
  top-level scalar field (e.g. `orderTypeId`) can be filtered. `lastUpdatedDate` needs a lower bound
  and may span at most 30 days (a missing upper bound means "now"), else 400 with a message saying so.
- At most `max_entities` (120,000) entities per response. Choice (documented): entities come in
  `lastUpdatedDate` order (ties by id) and the response is silently truncated after the first
  120,000, as the real API does (no flag): a client that gets exactly 120,000 rows must narrow its
  window. The `lastUpdatedDate` filter applies before the cut, other filters and `limit` after it.
- `inventoryitem` cannot be filtered. Choice (the safer guess, configurable): a `filter` there is
  REJECTED with 400 (`inventoryitem_filter = "ignore"` returns the whole collection instead), so a
  client that believes it reads stock incrementally fails loudly instead of silently.
- Rate limits (*unverified*, configurable): 120 GET a minute and 300 collection reads an hour.
  Successful responses carry `X-RateLimit-Limit` / `-Remaining` / `-Reset` (the minute window);
  with the `rate_limit` fault on, the request over either limit gets 429 with `X-RateLimit-Reset`
  as a Unix time. `rate_limit=<n>` makes it n GET a minute and 2.5 x n collection reads an hour.
- `drift=column_major_broken`: one column loses its last element (arrays of unequal length: a
  malformed response, never zero rows). Other drifts: `new_field`, `type_change`, `object_to_list`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import math
import time
from datetime import datetime, timedelta, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.finale.render import (
    apply_drift,
    column_major,
    inventory_rows,
    render_facility,
    render_order,
    render_partygroup,
    render_product,
    render_shipment,
)
from sandbox.finale.store import ACCOUNT
from sandbox.finale.writes import FinaleRefused
from sandbox.http import basic_auth, json_response

API_KEY = "fin_key_seamline_sandbox_3c9a"
API_SECRET = "fin_secret_seamline_sandbox_8e41d7b2"
MAX_WINDOW = timedelta(days=30)
COLLECTIONS = ("product", "inventoryitem", "order", "shipment", "partygroup", "facility")
ID_FIELDS = {"product": "productId", "order": "orderId", "shipment": "shipmentId", "partygroup": "partyId",
             "facility": "facilityId"}


def _text(message: str, status: int, headers: dict | None = None):
    return PlainTextResponse(message, status_code=status, headers=headers)


def _parse_date(raw) -> datetime:
    if not isinstance(raw, str):
        raise ValueError(f"not a date: {raw!r}")
    text = raw.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(text) if "T" in text or len(text) > 10 else datetime.fromisoformat(text + "T00:00:00")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class Window:
    """A fixed window counter started by the first request in it."""

    def __init__(self, seconds: int, now):
        self.seconds, self.now = seconds, now
        self.start: float | None = None
        self.count = 0

    def roll(self) -> None:
        now = self.now()
        if self.start is None or now >= self.start + self.seconds:
            self.start, self.count = now, 0

    @property
    def reset(self) -> int:
        return math.ceil(self.start + self.seconds)


class FinaleAPI:
    name = "finale"
    prefix = f"/finale/{ACCOUNT}/api"
    time_source = time.time  # the limiters' clock: tests replace it so they never sleep
    max_entities = 120_000
    inventoryitem_filter = "reject"  # "reject" (400) | "ignore"
    get_per_minute = 120
    collections_per_hour = 300

    def __init__(self, world, faults=None, now=None):
        self.world = world
        self.faults = faults
        self.now = now or (lambda: type(self).time_source())
        self._minute = Window(60, self.now)
        self._hour = Window(3600, self.now)
        self._index: dict[tuple, tuple[list, list[datetime]]] = {}
        self.session = "JS" + hashlib.sha1(f"{world.seed}:finale:session".encode()).hexdigest()[:24].upper()

    def settings(self, base_url: str) -> dict[str, str]:
        return {
            "SOURCES__FINALE__BASE_URL": f"{base_url}{self.prefix}",
            "SOURCES__FINALE__API_KEY": API_KEY,
            "SOURCES__FINALE__API_SECRET": API_SECRET,
            # the account's history starts about two years before the world does; a first sync
            # must reach back that far (Finale filters in 30-day windows with a lower bound)
            "SOURCES__FINALE__INITIAL_DATE": (self.world.start - timedelta(days=740)).strftime("%Y-%m-%d"),
        }

    @property
    def store(self):
        return self.world.finale

    def routes(self) -> list[Route]:
        routes = [Route("/auth", self.auth, methods=["POST"]),
                  Route("/order", self.create_order, methods=["POST"]),
                  Route("/order/", self.create_order, methods=["POST"])]
        for kind in COLLECTIONS:
            routes.append(Route(f"/{kind}", self._collection(kind)))
            routes.append(Route(f"/{kind}/", self._collection(kind)))
            if kind != "inventoryitem":
                routes.append(Route(f"/{kind}/{{id}}", self._single(kind)))
        return routes

    # -- auth and limits -------------------------------------------------------------
    async def auth(self, request: Request):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = {}
        if (body.get("username"), body.get("password")) != (API_KEY, API_SECRET):
            return _text("Unauthorized", 401)
        response = json_response({"name": body["username"], "userLoginId": body["username"],
                                  "resourceProduct": f"/{ACCOUNT}/api/product",
                                  "resourceInventoryItem": f"/{ACCOUNT}/api/inventoryitem",
                                  "resourceOrder": f"/{ACCOUNT}/api/order",
                                  "resourceShipment": f"/{ACCOUNT}/api/shipment",
                                  "resourcePartyGroup": f"/{ACCOUNT}/api/partygroup",
                                  "resourceFacility": f"/{ACCOUNT}/api/facility"})
        response.set_cookie("JSESSIONID", self.session, httponly=True, path=self.prefix)
        return response

    def _limits(self) -> tuple[int, int]:
        mode = self.faults.rate_limit if self.faults else None
        if mode and mode.isdigit():
            return int(mode), math.ceil(int(mode) * 2.5)
        return self.get_per_minute, self.collections_per_hour

    def _gate(self, request: Request, collection: bool):
        creds = basic_auth(request)
        if creds != (API_KEY, API_SECRET) and request.cookies.get("JSESSIONID") != self.session:
            return _text("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="Finale Inventory"'}), {}
        per_minute, per_hour = self._limits()
        enforce = bool(self.faults and self.faults.rate_limit)
        self._minute.roll()
        self._hour.roll()
        for window, limit, what in ((self._minute, per_minute, "requests per minute"),
                                    (self._hour if collection else None, per_hour, "collection reads per hour")):
            if window is not None and enforce and window.count >= limit:
                headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                           "X-RateLimit-Reset": str(window.reset)}
                return _text(f"Too many requests: the limit is {limit} {what}. "
                             f"Try again after {window.reset}.", 429, headers), {}
        self._minute.count += 1
        if collection:
            self._hour.count += 1
        headers = {"X-RateLimit-Limit": str(per_minute),
                   "X-RateLimit-Remaining": str(max(0, per_minute - self._minute.count)),
                   "X-RateLimit-Reset": str(self._minute.reset)}
        return None, headers

    # -- writes (sandbox/finale/writes.py) ----------------------------------------------------
    async def create_order(self, request: Request):
        """POST /order: 200 with the stored order, or 200 with an error body (errorCode, errorMessage)."""
        refusal, headers = self._gate(request, collection=False)
        if refusal is not None:
            return refusal
        raw = await request.body()
        try:
            order = json.loads(raw or b"null")
        except ValueError:
            return _text("Unable to parse the request body as JSON", 400, headers)

        def save():
            with self.world.lock:
                try:
                    oid = self.world.write("finale", "create_order", order=order)
                except FinaleRefused as exc:
                    return json_response(exc.body, headers=headers)
                return json_response(render_order(self.store, self.store.orders[oid]), headers=headers)

        return await run_in_threadpool(save)

    # -- data ----------------------------------------------------------------------------
    def _records(self, kind: str) -> list:
        store = self.store
        return list({"product": store.products, "order": store.orders, "shipment": store.shipments,
                     "partygroup": store.parties, "facility": store.facilities}[kind].values())

    def _render(self, kind: str, record) -> dict:
        store = self.store
        if kind == "partygroup":
            bad = bool(self.faults and self.faults.bad_data) and record.id in store.bad_data["partygroups_missing_email"]
            return render_partygroup(store, record, bad)
        return {"product": render_product, "order": render_order, "shipment": render_shipment,
                "facility": render_facility}[kind](store, record)

    def _sorted(self, kind: str) -> tuple[list, list[datetime]]:
        key = (kind, self.store.version)
        if key not in self._index:
            if len(self._index) > 12:
                self._index.clear()
            records = sorted(self._records(kind), key=lambda r: (r.updated, getattr(r, "id", None) or r.sku))
            self._index[key] = (records, [r.updated for r in records])
        return self._index[key]

    def _columns(self, kind: str) -> list[str]:
        if kind == "inventoryitem":
            return ["productId", "productUrl", "facilityUrl", "lotId", "normalizedPackingString", "orderUrl",
                    "quantityOnHand", "quantityOnOrder", "quantityReserved", "lastUpdatedDate"]
        records = self._records(kind)
        return list(self._render(kind, records[0]).keys()) if records else [ID_FIELDS[kind], "lastUpdatedDate"]

    @staticmethod
    def _decode_filter(raw: str) -> dict:
        text = raw.strip()
        padded = text + "=" * (-len(text) % 4)
        try:
            decoded = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
            spec = json.loads(decoded)
        except (binascii.Error, ValueError):
            raise ValueError("Unable to parse filter: expected base64 encoded JSON") from None
        if not isinstance(spec, dict):
            raise ValueError("Unable to parse filter: expected a JSON object")
        for name, bounds in spec.items():
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise ValueError(f"Filter for {name} must be an array of [lower bound, upper bound]")
        return spec

    def _date_window(self, bounds: list) -> tuple[datetime, datetime]:
        low, high = bounds
        if low is None:
            raise ValueError("The lastUpdatedDate filter requires a lower bound")
        try:
            lo = _parse_date(low)
            hi = _parse_date(high) if high is not None else self.world.clock.now()
        except ValueError:
            raise ValueError("Unable to parse the lastUpdatedDate filter dates") from None
        if hi - lo > MAX_WINDOW:
            raise ValueError("The lastUpdatedDate filter is limited to a maximum of 30 days of data")
        return lo, hi

    def _collection(self, kind: str):
        async def handler(request: Request):
            refusal, headers = self._gate(request, collection=True)
            if refusal is not None:
                return refusal
            q = request.query_params
            spec: dict = {}
            if q.get("filter"):
                if kind == "inventoryitem" and self.inventoryitem_filter == "reject":
                    return _text("The inventoryitem collection does not support filtering", 400, headers)
                try:
                    spec = {} if kind == "inventoryitem" else self._decode_filter(q["filter"])
                    window = self._date_window(spec.pop("lastUpdatedDate")) if "lastUpdatedDate" in spec else None
                    limit = int(q["limit"]) if q.get("limit") else None
                except ValueError as exc:
                    return _text(str(exc), 400, headers)
            else:
                window = None
                try:
                    limit = int(q["limit"]) if q.get("limit") else None
                except ValueError:
                    return _text("limit must be an integer", 400, headers)
            faults = self.faults
            bad = bool(faults and faults.bad_data)
            with self.world.lock:
                if kind == "inventoryitem":
                    rows = inventory_rows(self.store, bad)[: self.max_entities]
                else:
                    records, stamps = self._sorted(kind)
                    if window is not None:
                        lo, hi = window
                        records = records[bisect.bisect_left(stamps, lo): bisect.bisect_right(stamps, hi)]
                    rows = [self._render(kind, r) for r in records[: self.max_entities]]
                columns = self._columns(kind)
            for name, (low, high) in spec.items():
                rows = [r for r in rows if _in_range(r.get(name), low, high)]
            if limit is not None:
                rows = rows[: max(0, limit)]
            drift = faults.drift if faults else None
            rows = apply_drift(kind, rows, drift)
            if drift == "new_field":
                columns = columns + [c for c in (rows[0] if rows else {}) if c not in columns]
            body = column_major(rows, columns, broken=drift == "column_major_broken")
            return json_response(body, headers=headers)

        return handler

    def _single(self, kind: str):
        async def handler(request: Request):
            refusal, headers = self._gate(request, collection=False)
            if refusal is not None:
                return refusal
            wanted = request.path_params["id"]
            with self.world.lock:
                for record in self._records(kind):
                    ident = str(record.internal_id) if kind == "product" else record.id
                    if ident == wanted:
                        row = apply_drift(kind, [self._render(kind, record)], self.faults.drift if self.faults else None)
                        return json_response(row[0], headers=headers)
            return _text(f"Not found: /{ACCOUNT}/api/{kind}/{wanted}", 404, headers)

        return handler


def _in_range(value, low, high) -> bool:
    if value is None or isinstance(value, list | dict):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return (low is None or value >= float(low)) and (high is None or value <= float(high))
        except (TypeError, ValueError):
            return False
    text = str(value)
    return (low is None or text >= str(low)) and (high is None or text <= str(high))
