"""Routes of the retailer's courier app (`/delivery/api`).

`GET /deliveries?updated_after=<ISO-8601>` with `Authorization: Bearer <token>` answers
`{"deliveries": [...]}`: the deliveries whose status changed after the bound (exclusive; a time
without an offset is UTC), oldest change first, every one when the bound is absent. A wrong or
missing token is 401 `{"error": "unauthorized"}`, a bad bound 400 `{"error": ...}`. With the
`rate_limit` fault on, every third request is 429 with `Retry-After: 2` (seconds).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timezone

from starlette.requests import Request
from starlette.routing import Route

from sandbox.delivery.render import render_delivery
from sandbox.delivery.store import API_TOKEN
from sandbox.http import json_response

RATE_LIMIT_EVERY = 3
RETRY_AFTER = 2


class DeliveryAPI:
    name = "delivery"
    prefix = "/delivery/api"

    def __init__(self, world, faults=None):
        self.world = world
        self.faults = faults
        self._count = 0

    def settings(self, base_url: str) -> dict[str, str]:
        return {"SOURCES__DELIVERY__BASE_URL": f"{base_url}{self.prefix}",
                "SOURCES__DELIVERY__API_TOKEN": API_TOKEN}

    def routes(self) -> list[Route]:
        return [Route("/deliveries", self.deliveries)]

    async def deliveries(self, request: Request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != API_TOKEN:
            return json_response({"error": "unauthorized"}, 401, {"WWW-Authenticate": "Bearer"})
        if self.faults is not None and self.faults.rate_limit:
            self._count += 1
            if self._count % RATE_LIMIT_EVERY == 0:
                return json_response({"error": "rate limited"}, 429, {"Retry-After": str(RETRY_AFTER)})
        raw = request.query_params.get("updated_after")
        bound = None
        if raw:
            dt = _parse_time(raw)
            if dt is None:
                return json_response({"error": f"updated_after is not an ISO-8601 time: {raw!r}"}, 400)
            bound = int((dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp())
        with self.world.lock:
            found = self.world.delivery.deliveries()
            if bound is not None:
                found = found[bisect_right(found, bound, key=_updated):]
            body = {"deliveries": [render_delivery(d) for d in found]}
        return json_response(body)


def _updated(d) -> int:
    return d.updated


def _parse_time(raw: str) -> datetime | None:
    text = raw.strip().replace("Z", "+00:00")
    head, sep, tail = text.rpartition(" ")
    if sep and ":" in tail and "T" in head:  # an unencoded '+' of the offset arrives as a space
        text = f"{head}+{tail}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
