"""Routes of the simulated WooCommerce REST API v3 (`/woocommerce/wp-json/wc/v3`).

Follows the real API where connectors trip: Basic auth or query-string keys, bare
JSON arrays with X-WP-Total / X-WP-TotalPages and a Link header, `modified_after`
read in store-local time unless `dates_are_gmt=true`, an exclusive lower bound,
`after` filtering on the created date, trashed orders hidden from `status=any`, and
customers with no modified filter at all (only `include=<ids>`, and `orderby` id, name,
registered_date or include, either `order`).
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from datetime import datetime, timezone

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from sandbox.columns import NO_TIME
from sandbox.http import basic_auth, int_param, json_response, url_with
from sandbox.woocommerce.faults import HostRateLimit, apply_bad_data, apply_drift
from sandbox.woocommerce.render import STORE_TZ, render_customer, render_note, render_order, render_product
from sandbox.woocommerce.store import ORDER_STATUSES as STORED_STATUSES
from sandbox.woocommerce.writes import WooInvalid

CONSUMER_KEY = "ck_seamline_sandbox_0f3a9c"
CONSUMER_SECRET = "cs_seamline_sandbox_7d21e4b8"
MAX_PER_PAGE = 100
ORDER_STATUSES = {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "trash", "checkout-draft"}


def _error(code: str, message: str, status: int, **data):
    return json_response({"code": code, "message": message, "data": {"status": status, **data}}, status)


def _authorised(request: Request, editing: bool = False):
    creds = basic_auth(request)
    if creds is None and "consumer_key" in request.query_params:
        creds = (request.query_params["consumer_key"], request.query_params.get("consumer_secret", ""))
    if creds is None:
        if editing:
            return _error("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 401)
        return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
    if creds != (CONSUMER_KEY, CONSUMER_SECRET):
        return _error("woocommerce_rest_authentication_error",
                      "Consumer key is invalid." if creds[0] != CONSUMER_KEY
                      else "Invalid signature - provided signature does not match.", 401)
    return None


def _parse_date(raw: str, gmt: bool) -> datetime:
    dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc if gmt else STORE_TZ)
    return dt.astimezone(timezone.utc)


class WooCommerceAPI:
    name = "woocommerce"
    prefix = "/woocommerce/wp-json/wc/v3"

    def __init__(self, world, faults=None):
        self.world = world
        self.faults = faults
        self._cache: dict[tuple, list] = {}
        self._limit = HostRateLimit() if faults is not None and faults.rate_limit else None

    def _render_order(self, order) -> dict:
        body = render_order(order)
        if self.faults is not None:
            if self.faults.bad_data:
                body = apply_bad_data(body)
            if self.faults.drift:
                body = apply_drift(body, self.faults.drift)
        return body

    def settings(self, base_url: str) -> dict[str, str]:
        return {
            "SOURCES__WOOCOMMERCE__BASE_URL": f"{base_url}{self.prefix}",
            "SOURCES__WOOCOMMERCE__CONSUMER_KEY": CONSUMER_KEY,
            "SOURCES__WOOCOMMERCE__CONSUMER_SECRET": CONSUMER_SECRET,
        }

    @property
    def store(self):
        return self.world.woocommerce

    def routes(self) -> list[Route]:
        return [
            Route("/orders", self.list_orders),
            Route("/orders/{id:int}", self.get_order),
            Route("/customers", self.list_customers),
            Route("/products", self.list_products),
            Route("/orders/{id:int}", self.write_order, methods=["PUT", "POST", "PATCH"]),
            Route("/orders/{id:int}/notes", self.list_notes, methods=["GET"]),
            Route("/orders/{id:int}/notes", self.add_note, methods=["POST"]),
            Route("/products/batch", self.batch_products, methods=["POST", "PUT", "PATCH"]),
            Route("/products/{id:int}", self.get_product, methods=["GET"]),
            Route("/products/{id:int}", self.write_product, methods=["PUT", "POST", "PATCH"]),
        ]

    # -- writes (sandbox/woocommerce/writes.py) ------------------------------------
    async def _write(self, request: Request, op: str, render, status: int = 200, *, args):
        """Auth and the host's limits as for a read, then `world.write(op)` with the JSON body."""
        if (denied := _authorised(request, editing=True)) is not None:
            return denied
        if self._limit is not None and (limited := self._limit.check()) is not None:
            return limited
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return _error("rest_invalid_json", "Invalid JSON body passed.", 400)

        try:
            fields = args(body)
        except TypeError:  # a body that is not an object
            return _error("rest_invalid_json", "Invalid JSON body passed.", 400)

        def apply():
            with self.world.lock:
                try:
                    result = self.world.write("woocommerce", op, **fields)
                except WooInvalid as exc:
                    return json_response(exc.body(), exc.status)
                return json_response(render(result), status)

        return await run_in_threadpool(apply)

    async def write_order(self, request: Request):
        oid = request.path_params["id"]
        return await self._write(request, "update_order", lambda row: self._render_order(self.store.order_at(row)),
                                 args=lambda body: {"order_id": oid, "changes": body})

    async def add_note(self, request: Request):
        oid = request.path_params["id"]

        def args(body):
            if not isinstance(body, dict):
                raise TypeError("not an object")
            return {"order_id": oid, "note": body.get("note"), "customer_note": body.get("customer_note", False),
                    "added_by_user": body.get("added_by_user", False)}

        return await self._write(request, "add_order_note", render_note, 201, args=args)

    async def list_notes(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        with self.world.lock:
            oid = request.path_params["id"]
            if oid not in self.store.orders:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            return json_response([render_note(n) for n in reversed(self.store.order_notes(oid))])

    async def write_product(self, request: Request):
        pid = request.path_params["id"]
        return await self._write(request, "update_product", lambda p: render_product(self.store.products[p]),
                                 args=lambda body: {"product_id": pid, "changes": body})

    async def get_product(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        with self.world.lock:
            product = self.store.products.get(request.path_params["id"])
            if product is None:
                return _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return json_response(render_product(product))

    async def batch_products(self, request: Request):
        def render(result):
            products = self.store.products
            return {kind: [item if isinstance(item, dict) else render_product(products[item]) for item in items]
                    for kind, items in result.items()}

        return await self._write(request, "batch_products", render, args=lambda body: {"batch": body})

    # -- listing -------------------------------------------------------------
    def _page(self, request: Request, key: tuple, build, render):
        if self._limit is not None and (limited := self._limit.check()) is not None:
            return limited
        try:
            page = int_param(request, "page", 1)
            per_page = int_param(request, "per_page", 10)
        except ValueError:
            return _error("rest_invalid_param", "Invalid parameter(s): page", 400)
        if not 1 <= per_page <= MAX_PER_PAGE:
            return _error("rest_invalid_param", "Invalid parameter(s): per_page", 400,
                          params={"per_page": f"per_page must be between 1 ({MAX_PER_PAGE}) and 100"})
        if page < 1:
            return _error("rest_invalid_param", "Invalid parameter(s): page", 400)
        with self.world.lock:
            try:
                records = build() if key is None else self._filtered(key, build)
            except ValueError as exc:
                return _error("rest_invalid_param", f"Invalid parameter(s): {exc}", 400)
            total = len(records)
            pages = max(1, math.ceil(total / per_page)) if total else 0
            chunk = records[(page - 1) * per_page: page * per_page]
            body = [render(r) for r in chunk]
        fields = request.query_params.get("_fields")
        if fields:
            keep = set(fields.split(","))
            body = [{k: v for k, v in item.items() if k in keep} for item in body]
        links = []
        if page > 1:
            links.append(f'<{url_with(request, page=page - 1)}>; rel="prev"')
        if page < pages:
            links.append(f'<{url_with(request, page=page + 1)}>; rel="next"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return json_response(body, headers=headers)

    def _filtered(self, key: tuple, build) -> list:
        # paging re-runs the same query once per page: keep the result per world version
        key = (self.store.version, *key)
        if key not in self._cache:
            if len(self._cache) > 32 or any(k[0] != key[0] for k in self._cache):
                self._cache.clear()  # one version at a time
            self._cache[key] = build()
        return self._cache[key]

    @staticmethod
    def _date_filters(request: Request):
        q = request.query_params
        gmt = q.get("dates_are_gmt", "false").lower() in ("1", "true")
        bounds = {}
        for name in ("modified_after", "modified_before", "after", "before"):
            if q.get(name):
                try:
                    bounds[name] = _parse_date(q[name], gmt)
                except ValueError:
                    raise ValueError(name) from None
        return bounds

    @staticmethod
    def _sort(records, request: Request, default_orderby: str, keys: dict):
        orderby = request.query_params.get("orderby", default_orderby)
        if orderby not in keys:
            raise ValueError("orderby")
        descending = request.query_params.get("order", "desc" if default_orderby == "date" else "asc") == "desc"
        return sorted(records, key=keys[orderby], reverse=descending)

    async def list_orders(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        q = request.query_params
        statuses = set((q.get("status") or "any").split(","))
        if not statuses <= ORDER_STATUSES | {"any"}:
            return _error("rest_invalid_param", "Invalid parameter(s): status", 400)

        def select():
            return self._order_rows(statuses, self._date_filters(request), request)

        store = self.store
        # not cached per query: keyset walks send a new modified_after on every page
        return self._page(request, None, select, lambda row: self._render_order(store.order_at(row)))

    def _order_rows(self, statuses: set[str], bounds: dict, request: Request) -> array:
        """Rows of the orders a listing shows, in its order.

        Per world version and status filter, the matching rows are kept sorted by the listing's
        date (ties in id order); a bound on that date is then a bisection, so each page of a
        keyset walk costs a slice, not a scan of a million orders."""
        store = self.store
        orderby = request.query_params.get("orderby", "date")
        if orderby not in ("date", "id", "modified", "include"):
            raise ValueError("orderby")
        descending = request.query_params.get("order", "desc") == "desc"
        field = {"date": "created", "modified": "modified"}.get(orderby)
        wanted = tuple(sorted(statuses))
        rows, keys = self._filtered(("orders", wanted, field), lambda: self._order_index(statuses, field))
        lo, hi = 0, len(rows)
        rest = {}
        for name, value in bounds.items():
            bound = value.timestamp()
            # WP_Query date queries are exclusive: a record stamped exactly at the bound is left out
            if field is not None and name.startswith("modified") == (field == "modified"):
                if name.endswith("after"):
                    lo = max(lo, bisect_right(keys, bound))
                else:
                    hi = min(hi, bisect_left(keys, bound))
            else:
                rest[name] = bound
        rows = rows[lo:hi] if lo < hi else array("I")
        if rest:
            created, modified = store._o_created, store._o_modified
            for name, bound in rest.items():
                column = modified if name.startswith("modified") else created
                if name.endswith("after"):
                    rows = array("I", (i for i in rows if column[i] > bound))
                else:
                    rows = array("I", (i for i in rows if column[i] < bound))
        return rows[::-1] if descending else rows

    def _order_index(self, statuses: set[str], field: str | None) -> tuple[array, array | None]:
        """(rows with one of `statuses`, sorted by `field` then id; their `field` values), or in id order."""
        store = self.store
        status, trashed, deleted = store._o_status, store._o_trashed, store._o_deleted
        if "any" in statuses:
            rows = [i for i in range(store.row_count) if not deleted[i] and not trashed[i]]
        else:
            codes = {STORED_STATUSES.index(s) for s in statuses if s in STORED_STATUSES}
            want_trash = "trash" in statuses
            rows = [i for i in range(store.row_count)
                    if not deleted[i] and (want_trash if trashed[i] else status[i] in codes)]
        if field is None:
            return array("I", rows), None
        column = getattr(store, f"_o_{field}")
        # (time, row) packed in one int per order: rows are in id order, so this sorts by (time, id)
        packed = sorted([(column[i] << 32) | i for i in rows])
        del rows
        return array("I", (k & 0xFFFFFFFF for k in packed)), array("q", (k >> 32 for k in packed))

    async def get_order(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        with self.world.lock:
            order = self.store.orders.get(request.path_params["id"])
            if order is None:
                return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
            return json_response(self._render_order(order))

    async def list_customers(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        q = request.query_params
        with self.world.lock:
            paying = self._filtered(("paying",), self._paying_customers)

        def build():
            # the real endpoint has no modified filter: modified_after is silently ignored
            records = list(self.store.customers.values())
            include = _id_list(q, "include")
            if include is not None:  # WP_User_Query `include`: only these ids (per_page still pages them)
                wanted = set(include)
                records = [c for c in records if c.id in wanted]
            # orderby=include keeps the order the ids were given in
            position = {cid: i for i, cid in enumerate(include or ())}
            return self._sort(records, request, "name", {
                "id": lambda c: c.id, "name": lambda c: (c.last_name, c.first_name, c.id),
                "registered_date": lambda c: (c.created, c.id),
                "include": lambda c: (position.get(c.id, len(position)), c.id),
            })

        key = ("customers", tuple(sorted((k, v) for k, v in q.items() if k not in ("page", "per_page"))))
        return self._page(request, key, build, lambda c: render_customer(c, c.id in paying))

    def _paying_customers(self) -> set[int]:
        store = self.store
        customer, paid, deleted = store._o_customer, store._o_paid, store._o_deleted
        return {customer[i] for i in range(store.row_count) if paid[i] != NO_TIME and not deleted[i]}

    async def list_products(self, request: Request):
        if (denied := _authorised(request)) is not None:
            return denied
        q = request.query_params

        def build():
            bounds = self._date_filters(request)
            rows = [p for p in self.store.products.values() if _in_bounds(p.created, p.modified, bounds)]
            return self._sort(rows, request, "date", {
                "date": lambda p: (p.created, p.id), "id": lambda p: p.id,
                "modified": lambda p: (p.modified, p.id), "include": lambda p: p.id,
            })

        key = ("products", tuple(sorted((k, v) for k, v in q.items() if k not in ("page", "per_page"))))
        return self._page(request, key, build, render_product)


def _id_list(q, name: str) -> list[int] | None:
    """A WordPress id-list parameter: `1,2,3` (or `1 2 3`); None when absent."""
    raw = q.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return [int(part) for part in raw.replace(",", " ").split()]
    except ValueError:
        raise ValueError(name) from None


def _in_bounds(created: datetime, modified: datetime, bounds: dict) -> bool:
    # WP_Query date queries are exclusive: a record stamped exactly at the bound is left out
    if "modified_after" in bounds and not modified > bounds["modified_after"]:
        return False
    if "modified_before" in bounds and not modified < bounds["modified_before"]:
        return False
    if "after" in bounds and not created > bounds["after"]:
        return False
    if "before" in bounds and not created < bounds["before"]:
        return False
    return True
