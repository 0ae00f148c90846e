"""Routes of the simulated Xero API: `/xero/api.xro/2.0/...` and the token endpoint
`/xero/identity/connect/token`.

Follows the real service where connectors trip: OAuth2 refresh with Basic client auth and
ROTATING refresh tokens (the old one lives for a grace period, then `invalid_grant`),
30-minute access tokens (401 `TokenExpired`), a mandatory `Xero-Tenant-Id` (403), `page`
paging (100 a page, `pageSize` up to 1000) with a `pagination` block, Invoices without
`page` returned whole but without LineItems, `If-Modified-Since` against `UpdatedDateUTC`
(exclusive), `order=UpdatedDateUTC ASC`, archived contacts only with `includeArchived=true`,
.NET dates, two-decimal amounts, and per-tenant limits (60/minute, 5000/day, 5 concurrent)
with `X-*Limit-Remaining` headers on every response and 429 + `Retry-After` +
`X-Rate-Limit-Problem` when over.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from array import array
from bisect import bisect_right
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.columns import IdIndex
from sandbox.http import basic_auth, json_response
from sandbox.xero.render import (
    render_account,
    render_contact,
    render_credit_note,
    render_invoice,
    render_item,
    render_payment,
)
from sandbox.xero.store import INVOICE_STATUSES, XCreditNote, XInvoice, XPayment, uid
from sandbox.xero.write_routes import XeroWrites

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MINUTE_FAULT_LIMIT = 5  # rate_limit=minute: the minute limit bites after a few calls
RATE_LIMIT_BODY = ("oauth_problem=rate%20limit%20exceeded&oauth_problem_advice="
                   "please%20wait%20before%20retrying%20the%20xero%20api")
PROVIDER = "Seamline Sandbox"

# collection -> whether it pages (Items and Accounts come whole)
COLLECTIONS = {
    "Invoices": True, "Contacts": True, "Payments": True, "CreditNotes": True, "Items": False, "Accounts": False,
}


_WHERE_REFERENCE = re.compile(r'^\s*Reference\s*==\s*"([^"]*)"\s*$')


def _references(where: str) -> list[str] | None:
    """The references of a `Reference=="A" OR Reference=="B"` filter (how a writer asks whether an
    order is invoiced already); None for any other expression."""
    refs = []
    for part in re.split(r"\s+OR\s+", where.strip()):
        match = _WHERE_REFERENCE.match(part)
        if match is None:
            return None
        refs.append(match.group(1))
    return refs


class XeroError(Exception):
    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


class XeroAPI:
    name = "xero"
    prefix = "/xero"
    api_path = "/api.xro/2.0"
    token_path = "/identity/connect/token"

    def __init__(self, world, faults=None):
        self.world = world
        self.faults = faults
        self._cache: dict[tuple, list] = {}
        self._ids: dict[str, IdIndex] = {}  # invoice, payment and credit note GUIDs -> rows
        self._instances = itertools.count(1)
        if faults is not None and faults.rate_limit == "day":
            self.store.limiter.exhaust_day(self.store.tenant_id)

    def settings(self, base_url: str) -> dict[str, str]:
        auth = self.store.auth
        return {
            "SOURCES__XERO__BASE_URL": f"{base_url}{self.prefix}{self.api_path}",
            "SOURCES__XERO__TOKEN_URL": f"{base_url}{self.prefix}{self.token_path}",
            "SOURCES__XERO__CLIENT_ID": auth.client_id,
            "SOURCES__XERO__CLIENT_SECRET": auth.client_secret,
            "SOURCES__XERO__REFRESH_TOKEN": auth.current_refresh_token,
            "SOURCES__XERO__TENANT_ID": self.store.tenant_id,
        }

    @property
    def store(self):
        return self.world.xero

    def routes(self) -> list[Route]:
        routes = [Route(self.token_path, self.token, methods=["POST"])]
        for name in COLLECTIONS:
            handler = self._collection_handler(name)
            routes.append(Route(f"{self.api_path}/{name}", handler))
            routes.append(Route(f"{self.api_path}/{name.lower()}", handler))  # Xero's paths are case-insensitive
            single = self._single_handler(name)
            routes.append(Route(f"{self.api_path}/{name}/{{id}}", single))
            routes.append(Route(f"{self.api_path}/{name.lower()}/{{id}}", single))
        return routes + XeroWrites(self).routes()

    # -- identity --------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        auth = self.store.auth
        creds = basic_auth(request)
        if creds is None and "client_id" in form:
            creds = (form.get("client_id", ""), form.get("client_secret", ""))
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if creds is None or creds != (auth.client_id, auth.client_secret):
            return json_response({"error": "invalid_client"}, 400, headers)
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type"}, 400, headers)
        tokens = auth.refresh(form.get("refresh_token", ""))
        if tokens is None:
            return json_response({"error": "invalid_grant"}, 400, headers)
        return json_response(tokens, 200, headers)

    # -- plumbing ---------------------------------------------------------------------
    def _instance(self) -> str:
        return uid(self.world.seed, "instance", next(self._instances))

    def _problem(self, status: int, title: str, detail: str, headers: dict) -> XeroError:
        body = {"Type": None, "Title": title, "Status": status, "Detail": detail, "Instance": self._instance(),
                "Extensions": {}}
        return XeroError(json_response(body, status, headers))

    def _minute_limit(self) -> int:
        return MINUTE_FAULT_LIMIT if self.faults is not None and self.faults.rate_limit == "minute" else 60

    def _guard(self, request: Request) -> dict[str, str]:
        """Authenticate, check the tenant and count the call; returns the rate-limit headers."""
        store = self.store
        tenant = store.tenant_id
        headers = store.limiter.headers(tenant, self._minute_limit())
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        state, expiry = ("invalid", None)
        if scheme.lower() == "bearer" and token.strip():
            state, expiry = store.auth.check_access(token.strip())
        if state == "expired":
            when = datetime.fromtimestamp(expiry, timezone.utc).strftime("%m/%d/%Y %H:%M:%S")
            raise self._problem(401, "Unauthorized", f"TokenExpired: token expired at {when}",
                                {**headers, "WWW-Authenticate": 'Bearer error="invalid_token"'})
        if state != "ok":
            raise self._problem(401, "Unauthorized", "AuthenticationUnsuccessful",
                                {**headers, "WWW-Authenticate": 'Bearer error="invalid_token"'})
        if request.headers.get("xero-tenant-id", "").strip().lower() != tenant:
            raise self._problem(403, "Forbidden", "AuthenticationUnsuccessful", headers)
        enforce = bool(self.faults is not None and self.faults.rate_limit)
        problem, retry, headers = store.limiter.acquire(tenant, self._minute_limit(), enforce)
        if problem is not None:
            raise XeroError(Response(RATE_LIMIT_BODY, 429, {**headers, "Retry-After": str(retry),
                                                             "X-Rate-Limit-Problem": problem},
                                     media_type="text/html; charset=utf-8"))
        return headers

    def _validation(self, message: str, headers: dict) -> XeroError:
        body = {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}
        return XeroError(json_response(body, 400, headers))

    def _envelope(self, request: Request) -> dict:
        key = f"{request.url.path}?{request.url.query}|{self.store.version}|{self.world.clock.now().isoformat()}"
        rid = hashlib.blake2b(f"{self.world.seed}:{key}".encode(), digest_size=16).hexdigest()
        return {"Id": f"{rid[:8]}-{rid[8:12]}-{rid[12:16]}-{rid[16:20]}-{rid[20:]}", "Status": "OK",
                "ProviderName": PROVIDER,
                "DateTimeUTC": f"/Date({int(self.world.clock.now().timestamp() * 1000)})/"}

    def _collection_handler(self, name: str):
        def handle(request: Request) -> Response:
            try:
                headers = self._guard(request)
            except XeroError as exc:
                return exc.response
            try:
                return self._list(request, name, headers)
            except XeroError as exc:
                return exc.response
            finally:
                self.store.limiter.release(self.store.tenant_id)
        return handle

    def _single_handler(self, name: str):
        def handle(request: Request) -> Response:
            try:
                headers = self._guard(request)
            except XeroError as exc:
                return exc.response
            try:
                rid = request.path_params["id"].lower()
                with self.world.lock:
                    if name in _TABLES:
                        view, prefix = _TABLES[name]
                        count = len(getattr(self.store, f"{prefix}_updated"))
                        if name not in self._ids:
                            self._ids[name] = IdIndex(lambda row, name=name: self._id(name, _TABLES[name][0](
                                self.store, row)))
                        row = self._ids[name].find(rid, count)
                        match = [] if row is None else [view(self.store, row)]
                    else:
                        records = self._records(name, include_archived=True)
                        match = [r for r in records if self._id(name, r) == rid]
                    if not match:
                        body = {"Title": "Not Found", "Status": 404,
                                "Detail": "The resource you're looking for cannot be found"}
                        return json_response(body, 404, headers)
                    body = {**self._envelope(request), name: [self._render(name, match[0], True)]}
                return json_response(body, headers=headers)
            finally:
                self.store.limiter.release(self.store.tenant_id)
        return handle

    # -- listing -------------------------------------------------------------------------
    def _list(self, request: Request, name: str, headers: dict) -> Response:
        q = request.query_params
        if q.get("where"):
            references = _references(q["where"]) if name == "Invoices" else None
            if references is None:
                raise self._validation("The sandbox evaluates only 'where' filters of the form "
                                       'Reference=="A" OR Reference=="B" on Invoices; use If-Modified-Since, '
                                       "Statuses or includeArchived.", headers)
            with self.world.lock:
                found = [inv for ref in references for inv in self.store.invoices_for_reference(ref)]
                body = {**self._envelope(request), name: [self._render(name, inv, False) for inv in found]}
            return json_response(body, headers=headers)
        since_ms = None
        raw_since = request.headers.get("if-modified-since")
        if raw_since:
            since_ms = _parse_since(raw_since)
            if since_ms is None:
                raise self._validation(f"Invalid If-Modified-Since header '{raw_since}'.", headers)
        order = (q.get("order") or "").strip()
        field, _, direction = order.partition(" ")
        direction = direction.strip().upper() or "ASC"
        if order and (field not in _ORDER_KEYS[name] or direction not in ("ASC", "DESC")):
            raise self._validation(f"Invalid order '{order}'.", headers)
        include_archived = q.get("includeArchived", "false").lower() == "true"
        statuses = tuple(sorted(s.strip().upper() for s in (q.get("Statuses") or "").split(",") if s.strip()))
        paged = COLLECTIONS[name] and q.get("page") not in (None, "")
        page = size = 0
        if paged:
            try:
                page = max(1, int(q["page"]))
                size = int(q.get("pageSize") or PAGE_SIZE)
            except ValueError:
                raise self._validation("page and pageSize must be integers.", headers) from None
            size = min(max(1, size), MAX_PAGE_SIZE)
        with self.world.lock:
            rows = self._select(name, since_ms, field, direction, include_archived, statuses)
            summary = name == "Invoices" and (not paged or q.get("summaryOnly", "").lower() == "true")
            body = self._envelope(request)
            if paged:
                chunk = rows[(page - 1) * size: page * size]
                body["pagination"] = {"page": page, "pageSize": size,
                                      "pageCount": math.ceil(len(rows) / size), "itemCount": len(rows)}
            else:
                chunk = rows
            if name in _TABLES:
                view = _TABLES[name][0]
                chunk = [view(self.store, row) for row in chunk]
            body[name] = [self._render(name, r, not summary) for r in chunk]
        return json_response(body, headers=headers)

    def _select(self, name: str, since_ms: int | None, field: str, direction: str, include_archived: bool,
                statuses: tuple):
        """The records (rows, for invoices, payments and credit notes) a listing shows, in its order.

        Per world version, each collection is kept sorted by the asked order (ascending), with its
        update times when that order is UpdatedDateUTC: a keyset walk sends a new If-Modified-Since
        on every page, which is then a bisection instead of a scan."""
        key = (self.store.version, name, field, include_archived, statuses)
        if key not in self._cache:
            if len(self._cache) > 48 or any(k[0] != key[0] for k in self._cache):
                self._cache.clear()  # one version at a time
            if name in _TABLES:
                self._cache[key] = self._table_index(name, field, statuses)
            else:
                rows = self._records(name, include_archived)
                if field:
                    rows = sorted(rows, key=_ORDER_KEYS[name][field])
                self._cache[key] = rows, [r.updated_ms for r in rows] if field == "UpdatedDateUTC" else None
        rows, updated = self._cache[key]
        if since_ms is not None:  # If-Modified-Since is exclusive
            if updated is not None:
                rows = rows[bisect_right(updated, since_ms):]
            elif name in _TABLES:
                column = getattr(self.store, f"{_TABLES[name][1]}_updated")
                rows = array("I", (r for r in rows if column[r] > since_ms))
            else:
                rows = [r for r in rows if _updated(name, r) > since_ms]
        if field and direction == "DESC":
            rows = rows[::-1]
        return rows

    def _table_index(self, name: str, field: str, statuses: tuple) -> tuple[array, array | None]:
        """(rows = number - 1 of the invoices, payments or credit notes, filtered by status and sorted
        by `field` then number; their update times if `field` is UpdatedDateUTC)."""
        store = self.store
        prefix = _TABLES[name][1]
        rows = range(len(getattr(store, f"{prefix}_updated")))
        if statuses and name == "Invoices":
            codes = {INVOICE_STATUSES.index(s) for s in statuses if s in INVOICE_STATUSES}
            status = store._i_status
            rows = [r for r in rows if status[r] in codes]
        column = _TABLE_ORDER[name][field] if field else None
        if column is None:
            return array("I", rows), None
        values = getattr(store, column)
        # (value, row) packed in one int per record: rows are in number order, so this sorts by (value, number)
        packed = sorted([(values[r] << 32) | r for r in rows])
        ordered = array("I", (k & 0xFFFFFFFF for k in packed))
        keys = array("q", (k >> 32 for k in packed)) if field == "UpdatedDateUTC" else None
        return ordered, keys

    def _records(self, name: str, include_archived: bool) -> list:
        store = self.store
        if name == "Invoices":
            return store.invoices
        if name == "Contacts":
            return store.contact_list if include_archived else [c for c in store.contact_list
                                                                   if c.status != "ARCHIVED"]
        if name == "Payments":
            return store.payments
        if name == "CreditNotes":
            return store.credit_notes
        if name == "Items":
            return sorted(store.items, key=lambda i: i.item.sku)
        return store.accounts

    def _id(self, name: str, record) -> str:
        store = self.store
        return {"Invoices": store.invoice_id, "Contacts": store.contact_id, "Payments": store.payment_id,
                "CreditNotes": store.credit_note_id, "Items": store.item_id, "Accounts": store.account_id}[name](record)

    def _render(self, name: str, record, with_lines: bool) -> dict:
        store = self.store
        drift = self.faults.drift if self.faults is not None else None
        bad = bool(self.faults is not None and self.faults.bad_data)
        if name == "Invoices":
            return render_invoice(store, record, with_lines=with_lines, drift=drift, bad=bad)
        if name == "Contacts":
            return render_contact(store, record, drift=drift, bad=bad)
        if name == "Payments":
            return render_payment(store, record, drift=drift)
        if name == "CreditNotes":
            return render_credit_note(store, record, drift=drift)
        if name == "Items":
            return render_item(store, record, drift=drift)
        return render_account(store, record, drift=drift)


_TABLES = {"Invoices": (XInvoice, "_i"), "Payments": (XPayment, "_p"), "CreditNotes": (XCreditNote, "_c")}
_TABLE_ORDER = {  # the column each order sorts on (None: the number itself)
    "Invoices": {"UpdatedDateUTC": "_i_updated", "Date": "_i_created", "InvoiceNumber": None},
    "Payments": {"UpdatedDateUTC": "_p_updated", "Date": "_p_date"},
    "CreditNotes": {"UpdatedDateUTC": "_c_updated", "Date": "_c_created", "CreditNoteNumber": None},
}


def _updated(name: str, record) -> int:
    return record.updated_ms


_ORDER_KEYS = {
    "Invoices": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.number), "Date": lambda r: (r.created_ms, r.number),
                 "InvoiceNumber": lambda r: r.number},
    "Contacts": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.idx), "Name": lambda r: (r.name, r.idx)},
    "Payments": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.number), "Date": lambda r: (r.date_ms, r.number)},
    "CreditNotes": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.number), "Date": lambda r: (r.created_ms, r.number),
                    "CreditNoteNumber": lambda r: r.number},
    "Items": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.idx), "Code": lambda r: r.item.sku,
              "Name": lambda r: (r.name, r.idx)},
    "Accounts": {"UpdatedDateUTC": lambda r: (r.updated_ms, r.idx), "Code": lambda r: r.code,
                 "Name": lambda r: (r.name, r.idx)},
}


def _parse_since(raw: str) -> int | None:
    """If-Modified-Since as an HTTP date or an ISO timestamp (UTC when it has no offset), in ms."""
    raw = raw.strip()
    try:
        dt = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        dt = None
    if dt is None:
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)

