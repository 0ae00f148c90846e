"""Routes of the simulated Klaviyo API (`/klaviyo/api`, JSON:API).

Follows the real API where connectors trip: `Authorization: Klaviyo-API-Key pk_...` plus a
required `revision` header, cursor paging through absolute `links.next` URLs, per-endpoint
`page[size]` caps (400 above them), a filter language with per-field operators (profiles
reject `greater-or-equal` on `updated`; timestamps need `Z` or an offset; a lower bound in
the future is a 400), campaigns that demand a channel filter, subscriptions (and so
suppressions) only with `additional-fields[profile]=subscriptions`, and burst/steady rate
limits per endpoint with `RateLimit-*` headers and a 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from array import array
from bisect import bisect_left, bisect_right
from datetime import datetime, timezone

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.columns import IdIndex
from sandbox.http import url_with
from sandbox.klaviyo.render import (
    render_campaign,
    render_event,
    render_list,
    render_metric,
    render_profile,
)

API_KEY = "pk_5e4a1f0c3b8d7e29a6c4f1b0d8e7a3c2b9f1"
JSONAPI = "application/vnd.api+json"
# burst per second, steady per minute (Klaviyo's published tiers)
TIERS = {"XS": (1, 15), "S": (3, 60), "M": (10, 150), "L": (75, 700), "XL": (350, 3500)}
ENDPOINT_TIER = {"profiles": "L", "events": "XL", "lists": "L", "campaigns": "M", "metrics": "M",
                 # writes: Create or Update Profile and Create Event (each counted on its own)
                 "profile-import": "L", "create-event": "XL"}
# (default page size, max page size)
PAGE_SIZES = {"profiles": (20, 100), "events": (200, 200), "lists": (10, 10), "campaigns": (10, 100),
              "metrics": (200, 200)}
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.pre)?$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")

LT, LE, GT, GE = "less-than", "less-or-equal", "greater-than", "greater-or-equal"
# allowed filter operators per endpoint and field, and the field's type
FILTERS = {
    "profiles": {"id": ({"equals", "any"}, "str"), "email": ({"equals", "any"}, "str"),
                 "phone_number": ({"equals", "any"}, "str"), "external_id": ({"equals", "any"}, "str"),
                 "created": ({GT, LT}, "dt"), "updated": ({GT, LT}, "dt")},
    "events": {"metric_id": ({"equals"}, "str"), "profile_id": ({"equals"}, "str"),
               "datetime": ({GT, GE, LT, LE}, "dt"), "timestamp": ({GT, GE, LT, LE}, "dt")},
    "lists": {"id": ({"equals", "any"}, "str"), "name": ({"equals", "any"}, "str"),
              "created": ({GT, LT}, "dt"), "updated": ({GT, LT}, "dt")},
    "campaigns": {"messages.channel": ({"equals"}, "str"), "name": ({"contains"}, "str"),
                  "status": ({"equals", "any"}, "str"), "archived": ({"equals"}, "bool"),
                  "created_at": ({GT, GE, LT, LE}, "dt"), "updated_at": ({GT, GE, LT, LE}, "dt"),
                  "scheduled_at": ({GT, GE, LT, LE}, "dt")},
    "metrics": {"integration.name": ({"equals"}, "str"), "integration.category": ({"equals"}, "str")},
}
SORTS = {
    "profiles": {"created", "email", "id", "updated"},
    "events": {"datetime", "timestamp"},
    "lists": {"created", "id", "name", "updated"},
    "campaigns": {"created_at", "id", "name", "scheduled_at", "updated_at"},
    "metrics": set(),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str, detail: str, source: dict | None = None):
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.source = source or {"pointer": "/data/"}
        self.retry_after: int | None = None


def _invalid(detail: str, parameter: str | None = None) -> ApiError:
    return ApiError(400, "invalid", "Invalid input.", detail, {"parameter": parameter} if parameter else None)


# -- the filter language -------------------------------------------------------
def _split_args(text: str) -> list[str]:
    args, depth, quote, current = [], 0, None, []
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if quote or depth:
        raise _invalid("Invalid filter: unbalanced quotes or brackets.", "filter")
    if current or args:
        args.append("".join(current).strip())
    return args


def _value(raw: str, kind: str, field: str):
    raw = raw.strip()
    if raw.startswith("[") and raw.endswith("]"):
        return [_value(v, kind, field) for v in _split_args(raw[1:-1])]
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        if kind == "dt":
            raw = raw[1:-1]
        else:
            return raw[1:-1]
    if kind == "bool":
        if raw in ("true", "false"):
            return raw == "true"
        raise _invalid(f"Invalid boolean value '{raw}' for field '{field}'.", "filter")
    if kind == "dt":
        if not _TS.match(raw):
            raise _invalid(f"Invalid datetime '{raw}' for field '{field}'.", "filter")
        if not (raw.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", raw)):
            raise _invalid(f"Datetime '{raw}' for field '{field}' must include a timezone: use 'Z' or an "
                           "offset such as '+00:00'.", "filter")
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(f"Invalid datetime '{raw}' for field '{field}'.", "filter") from None
        return dt.astimezone(timezone.utc)
    if raw in ("null", "true", "false"):
        return {"null": None, "true": True, "false": False}[raw]
    raise _invalid(f"Invalid value '{raw}' for field '{field}': strings must be quoted.", "filter")


def parse_filter(text: str | None, endpoint: str) -> list[tuple[str, str, object]]:
    """A Klaviyo filter string -> a conjunction of (operator, field, value)."""
    if not text:
        return []
    allowed = FILTERS[endpoint]
    out = []
    for expr in _split_args(text):
        m = re.match(r"^([a-z-]+)\((.*)\)$", expr.strip(), re.S)
        if not m:
            raise _invalid(f"Invalid filter expression '{expr}'.", "filter")
        op, inner = m.group(1), m.group(2)
        if op == "and":
            out.extend(parse_filter(inner, endpoint))
            continue
        if op in ("or", "not"):
            raise _invalid(f"The '{op}' operator is not supported for this endpoint.", "filter")
        args = _split_args(inner)
        if len(args) != 2:
            raise _invalid(f"Invalid filter expression '{expr}'.", "filter")
        field = args[0]
        if field not in allowed:
            raise _invalid(f"'{field}' is not a valid field for the resource '{endpoint[:-1]}'.", "filter")
        ops, kind = allowed[field]
        if op not in ops:
            raise _invalid(f"'{op}' operation is not allowed for field '{field}'. Allowed: "
                           f"{', '.join(sorted(ops))}.", "filter")
        value = _value(args[1], kind, field)
        if op == "any" and not isinstance(value, list):
            raise _invalid(f"'any' needs a list of values for field '{field}'.", "filter")
        out.append((op, field, value))
    return out


def _matches(op: str, actual, value) -> bool:
    if op == "equals":
        return actual == value
    if op == "any":
        return actual in value
    if op == "contains":
        return isinstance(actual, str) and value in actual
    if actual is None:
        return False
    if op == GT:
        return actual > value
    if op == GE:
        return actual >= value
    if op == LT:
        return actual < value
    return actual <= value


def _cursor_encode(start: int, prev_id: str) -> str:
    return base64.urlsafe_b64encode(f"{start}|{prev_id}".encode()).decode().rstrip("=")


def _cursor_decode(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        start, _, prev_id = raw.partition("|")
        return int(start), prev_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("Invalid page cursor.", "page[cursor]") from None


class KlaviyoAPI:
    name = "klaviyo"
    prefix = "/klaviyo/api"

    def __init__(self, world, faults=None):
        self.world = world
        self.faults = faults
        self._cache: dict[tuple, object] = {}
        self._event_ids = IdIndex(lambda idx: self.store.event_id(idx))  # event id -> index, built on first use
        self._error_ids = itertools.count(1)

    def settings(self, base_url: str) -> dict[str, str]:
        return {
            "SOURCES__KLAVIYO__BASE_URL": f"{base_url}{self.prefix}",
            "SOURCES__KLAVIYO__API_KEY": API_KEY,
        }

    @property
    def store(self):
        return self.world.klaviyo

    def routes(self) -> list[Route]:
        routes = []
        for endpoint in ("profiles", "events", "lists", "campaigns", "metrics"):
            listing = self._handler(endpoint, self._list)
            single = self._handler(endpoint, self._get)
            routes += [Route(f"/{endpoint}/", listing), Route(f"/{endpoint}", listing),
                       Route(f"/{endpoint}/{{id}}/", single), Route(f"/{endpoint}/{{id}}", single)]
        for path, limit, fn in (("/profile-import", "profile-import", self._import_profile),
                                ("/events", "create-event", self._create_event)):
            write = self._write_handler(limit, fn)
            routes += [Route(f"{path}/", write, methods=["POST"]), Route(path, write, methods=["POST"])]
        return routes

    # -- plumbing ----------------------------------------------------------------
    def _handler(self, endpoint: str, fn):
        async def handle(request: Request):
            headers: dict[str, str] = {}
            try:
                self._check(request)
                headers = self._rate_limit(endpoint)
                return fn(request, endpoint, headers)
            except ApiError as exc:
                if exc.retry_after is not None:  # a 429 carries Retry-After and no RateLimit-* headers
                    headers = {"Retry-After": str(exc.retry_after)}
                return self._error_response(exc, headers)
        return handle

    def _write_handler(self, endpoint: str, fn):
        """A POST: the same key, revision and rate-limit checks as a read, then `fn(request, data, headers)`."""
        async def handle(request: Request):
            headers: dict[str, str] = {}
            try:
                self._check(request)
                headers = self._rate_limit(endpoint)
                try:
                    doc = orjson.loads(await request.body() or b"null")
                except orjson.JSONDecodeError:
                    raise ApiError(400, "parse_error", "Malformed request.", "The request body is not valid JSON.",
                                   {"pointer": "/"}) from None
                if not isinstance(doc, dict) or "data" not in doc:
                    raise ApiError(400, "invalid", "Invalid input.", "'data' is a required field.",
                                   {"pointer": "/data"})
                return await run_in_threadpool(fn, request, doc["data"], headers)
            except ApiError as exc:
                if exc.retry_after is not None:
                    headers = {"Retry-After": str(exc.retry_after)}
                return self._error_response(exc, headers)
        return handle

    def _write(self, op: str, data):
        from sandbox.klaviyo.writes import KlaviyoInvalid

        try:
            return self.world.write("klaviyo", op, data=data)
        except KlaviyoInvalid as exc:
            raise ApiError(400, "invalid", "Invalid input.", exc.detail, {"pointer": exc.pointer}) from None

    def _import_profile(self, request: Request, data, headers: dict) -> Response:
        """POST /profile-import: 201 with the new profile, 200 with an updated one."""
        with self.world.lock:
            idx, created = self._write("import_profile", data)
            profile = self.store.profile_list[idx]
            body = {"data": render_profile(self.store, profile, self._base(request), drift=self._drift),
                    "links": {"self": f"{self._base(request)}/profiles/{profile.id}/"}}
        return Response(orjson.dumps(body), status_code=201 if created else 200, headers=headers, media_type=JSONAPI)

    def _create_event(self, request: Request, data, headers: dict) -> Response:
        """POST /events: 202 and no body, stored or deduplicated alike (as Klaviyo answers)."""
        with self.world.lock:
            self._write("create_event", data)
        return Response(status_code=202, headers=headers)

    def _error_response(self, exc: ApiError, headers: dict) -> Response:
        n = next(self._error_ids)
        h = hashlib.blake2b(f"{self.world.seed}:klaviyo:error:{n}".encode(), digest_size=16).hexdigest()
        body = {"errors": [{"id": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}", "status": exc.status,
                            "code": exc.code, "title": exc.title, "detail": exc.detail, "source": exc.source,
                            "links": {}, "meta": {}}]}
        return Response(orjson.dumps(body), status_code=exc.status, headers=headers, media_type=JSONAPI)

    def _check(self, request: Request) -> None:
        auth = request.headers.get("authorization", "")
        scheme, _, key = auth.partition(" ")
        if scheme != "Klaviyo-API-Key" or not key.strip():
            raise ApiError(401, "not_authenticated", "Authentication credentials were not provided.",
                           "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.")
        if key.strip() != API_KEY:
            raise ApiError(401, "authentication_failed", "Incorrect authentication credentials.",
                           "Incorrect authentication credentials.")
        revision = request.headers.get("revision")
        if not revision:
            raise ApiError(400, "invalid", "Invalid input.",
                           "Missing required header 'revision'. Send the API revision as YYYY-MM-DD.",
                           {"header": "revision"})
        if not _REVISION.match(revision.strip()):
            raise ApiError(400, "invalid", "Invalid input.", f"Invalid revision '{revision}'. Use YYYY-MM-DD.",
                           {"header": "revision"})

    def _rate_limit(self, endpoint: str) -> dict[str, str]:
        burst, steady = TIERS[ENDPOINT_TIER[endpoint]]
        enforce = bool(self.faults and self.faults.rate_limit)
        ok, headers, retry = self.store.rate_limiter.hit(endpoint, burst, steady, enforce)
        if not ok:
            exc = ApiError(429, "throttled", "Request was throttled.",
                           f"Request was throttled. Expected available in {retry} second{'s' if retry != 1 else ''}.")
            exc.retry_after = retry
            raise exc
        return headers

    def _cached(self, key: tuple, build):
        key = (self.store.version, *key)
        if key not in self._cache:
            if len(self._cache) > 48 or any(k[0] != key[0] for k in self._cache):
                self._cache.clear()  # one version at a time: a million-event index is not small
            self._cache[key] = build()
        return self._cache[key]

    def _base(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{self.prefix}"

    @property
    def _drift(self):
        return self.faults.drift if self.faults else None

    @property
    def _bad(self) -> bool:
        return bool(self.faults and self.faults.bad_data)

    # -- listing -------------------------------------------------------------------
    def _list(self, request: Request, endpoint: str, headers: dict) -> Response:
        q = request.query_params
        default_size, max_size = PAGE_SIZES[endpoint]
        raw_size = q.get("page[size]")
        if raw_size is None or raw_size == "":
            size = default_size
        else:
            try:
                size = int(raw_size)
            except ValueError:
                raise _invalid(f"Invalid page[size] '{raw_size}'.", "page[size]") from None
            if not 1 <= size <= max_size:
                raise _invalid(f"page[size] must be between 1 and {max_size}.", "page[size]")
        filters = parse_filter(q.get("filter"), endpoint)
        now = self.world.clock.now()
        for op, field, value in filters:
            if op in (GT, GE) and isinstance(value, datetime) and value > now:
                raise _invalid(f"The {field} filter value {value.isoformat()} is in the future.", "filter")
        if endpoint == "campaigns" and not any(f == "messages.channel" and v in ("email", "sms")
                                               for _, f, v in filters):
            raise _invalid("A channel filter is required: filter=equals(messages.channel,'email') or "
                           "equals(messages.channel,'sms').", "filter")
        sort = q.get("sort") or ""
        if sort and sort.lstrip("-") not in SORTS[endpoint]:
            raise _invalid(f"'{sort}' is not a valid sort field for the resource '{endpoint[:-1]}'.", "sort")
        additional = set(filter(None, q.get("additional-fields[profile]", "").split(",")))
        with self.world.lock:
            records, ident = self._select(endpoint, filters, sort)
            start = 0
            if q.get("page[cursor]"):
                start, prev_id = _cursor_decode(q["page[cursor]"])
                if start < 0:
                    raise _invalid("Invalid page cursor.", "page[cursor]")
                if start > 0 and prev_id and (start > len(records) or ident(records[start - 1]) != prev_id):
                    # the data moved since the cursor was made: continue after the record it points at
                    start = next((i + 1 for i, r in enumerate(records) if ident(r) == prev_id), start)
            chunk = records[start:start + size]
            base = self._base(request)
            data = [self._render(endpoint, r, base, "subscriptions" in additional) for r in chunk]
            nxt = None
            if start + size < len(records):
                nxt = url_with(request, **{"page[cursor]": _cursor_encode(start + size, ident(records[start + size - 1]))})
            prev = None
            if start > 0:
                back = max(0, start - size)
                prev = url_with(request, **{"page[cursor]": _cursor_encode(back, ident(records[back - 1]) if back else "")})
        data = self._sparse(request, data)
        body = {"data": data, "links": {"self": str(request.url), "next": nxt, "prev": prev}}
        return Response(orjson.dumps(body), headers=headers, media_type=JSONAPI)

    def _get(self, request: Request, endpoint: str, headers: dict) -> Response:
        rid = request.path_params["id"]
        additional = set(filter(None, request.query_params.get("additional-fields[profile]", "").split(",")))
        with self.world.lock:
            record = self._lookup(endpoint, rid)
            if record is None:
                raise ApiError(404, "not_found", "Not found.", f"A {endpoint[:-1]} with id {rid} does not exist.")
            data = self._render(endpoint, record, self._base(request), "subscriptions" in additional)
        body = {"data": self._sparse(request, [data])[0], "links": {"self": str(request.url)}}
        return Response(orjson.dumps(body), headers=headers, media_type=JSONAPI)

    @staticmethod
    def _sparse(request: Request, data: list[dict]) -> list[dict]:
        for key, value in request.query_params.items():
            if key.startswith("fields[") and key.endswith("]"):
                kind, keep = key[7:-1], set(value.split(","))
                for item in data:
                    if item["type"] == kind:
                        item["attributes"] = {k: v for k, v in item["attributes"].items() if k in keep}
        return data

    def _render(self, endpoint: str, record, base: str, subscriptions: bool) -> dict:
        store, drift, bad = self.store, self._drift, self._bad
        if endpoint == "profiles":
            return render_profile(store, record, base, subscriptions=subscriptions, drift=drift, bad=bad)
        if endpoint == "events":
            return render_event(store, record, base, drift=drift, bad=bad)
        if endpoint == "lists":
            return render_list(record, base, drift=drift)
        if endpoint == "campaigns":
            return render_campaign(store, record, base, drift=drift)
        return render_metric(record, base, drift=drift)

    def _lookup(self, endpoint: str, rid: str):
        store = self.store
        if endpoint == "profiles":
            return store.profiles_by_id.get(rid)
        if endpoint == "events":
            return self._event_ids.find(rid, store.event_count)
        pool = {"lists": store.lists, "campaigns": store.campaigns, "metrics": store.metrics}[endpoint]
        return next((r for r in pool if r.id == rid), None)

    # -- selecting records ---------------------------------------------------------------
    def _select(self, endpoint: str, filters: list, sort: str):
        key = (endpoint, repr(filters), sort)
        store = self.store
        if endpoint == "events":
            return self._cached(key, lambda: self._select_events(filters, sort)), store.event_id
        ident = _ident
        if endpoint == "profiles":
            def build():
                rows = [p for p in store.profile_list if _all(filters, lambda f, p=p: _profile_field(p, f))]
                return _sorted(rows, sort, lambda p: p.id, {"created": lambda p: p.created, "email": lambda p: p.email,
                                                             "updated": lambda p: p.updated, "id": lambda p: p.id})
        elif endpoint == "lists":
            def build():
                rows = [x for x in store.lists if _all(filters, lambda f, x=x: _list_field(x, f))]
                return _sorted(rows, sort, lambda x: x.id, {"created": lambda x: x.created, "name": lambda x: x.name,
                                                             "updated": lambda x: x.updated, "id": lambda x: x.id})
        elif endpoint == "campaigns":
            def build():
                rows = [c for c in store.campaigns if _all(filters, lambda f, c=c: _campaign_field(c, f))]
                return _sorted(rows, sort, lambda c: c.id, {
                    "created_at": lambda c: c.created, "name": lambda c: c.name, "id": lambda c: c.id,
                    "updated_at": lambda c: c.updated, "scheduled_at": lambda c: c.scheduled or c.created})
        else:
            def build():
                return [m for m in store.metrics if _all(filters, lambda f, m=m: _metric_field(m, f))]
        return self._cached(key, build), ident

    def _select_events(self, filters: list, sort: str) -> list[int]:
        store = self.store

        order, stamps = store.events_by_time()
        lo, hi = 0, len(order)
        rest = []
        for op, field, value in filters:
            if field in ("datetime", "timestamp"):
                ts = value.timestamp()
                if op == GT:
                    lo = max(lo, bisect_right(stamps, ts))
                elif op == GE:
                    lo = max(lo, bisect_left(stamps, ts))
                elif op == LT:
                    hi = min(hi, bisect_left(stamps, ts))
                else:
                    hi = min(hi, bisect_right(stamps, ts))
            else:
                rest.append((op, field, value))
        rows = order[lo:hi] if lo < hi else array("I")
        for _op, field, value in rest:
            if field == "metric_id":
                wanted = {m.idx for m in store.metrics if m.id == value}
                metric = store._ev_metric
                rows = array("I", (i for i in rows if metric[i] in wanted))
            else:
                p = store.profiles_by_id.get(value)
                profile = store._ev_profile
                rows = array("I", (i for i in rows if p is not None and profile[i] == p.idx))
        if sort.startswith("-"):
            rows = rows[::-1]
        return rows


def _ident(record) -> str:
    return record.id


def _all(filters, get) -> bool:
    return all(_matches(op, get(field), value) for op, field, value in filters)


def _sorted(rows, sort: str, default, keys: dict):
    if not sort:
        return sorted(rows, key=default)
    key = keys[sort.lstrip("-")]
    return sorted(rows, key=lambda r: (key(r), r.id), reverse=sort.startswith("-"))


_PROFILE_FIELDS = {"id": "id", "email": "email", "phone_number": "phone", "created": "created", "updated": "updated"}


def _profile_field(p, field: str):
    return None if field == "external_id" else getattr(p, _PROFILE_FIELDS[field])


def _list_field(x, field: str):
    return {"id": x.id, "name": x.name, "created": x.created, "updated": x.updated}[field]


def _campaign_field(c, field: str):
    return {"messages.channel": c.channel, "name": c.name, "status": c.status, "archived": False,
            "created_at": c.created, "updated_at": c.updated, "scheduled_at": c.scheduled}[field]


def _metric_field(m, field: str):
    return {"integration.name": m.integration[1], "integration.category": m.integration[2]}[field]

