"""Faults the sandbox can inject, per API, all off by default.

Spec (CLI `--faults`, or `FaultPlan.parse`): `api:key=value,key=value;api2:...`, e.g.
`woocommerce:error_rate=0.1,slow_ms=200;xero:rate_limit=day`. Keys:

- `rate_limit`: `on` (the vendor's own limits, answered with its 429 headers and body), or a
  vendor-specific mode such as `minute` / `day` for Xero; `off` drops the rate-limit headers
  from every response, so clients never pace themselves (the benchmarks measure Seamline, not
  the vendors' limits; `*` as the api applies a fault to all six);
- `error_rate`: share of requests answered 500/502/503 (deterministic per request count);
- `slow_ms`: delay added to every response;
- `drop_rate`: share of responses cut off mid-body (connection dropped);
- `malformed_rate`: share of pages sent as broken JSON;
- `drift`: `new_field` | `type_change` | `object_to_list`: records change shape (each vendor's
  renderer applies it);
- `bad_data`: vendor-specific data faults for quality tests (missing emails, negative
  quantities, totals that do not add up).

Generic faults are applied by `FaultMiddleware`; rate limits, drift and bad data by each
vendor's API, which reads its `ApiFaults`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

API_NAMES = ("woocommerce", "klaviyo", "xero", "lightspeed", "finale", "delivery")


@dataclass
class ApiFaults:
    rate_limit: str | None = None
    error_rate: float = 0.0
    slow_ms: int = 0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    drift: str | None = None
    bad_data: bool = False
    limit_headers: bool = True
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate


@dataclass
class FaultPlan:
    apis: dict[str, ApiFaults] = field(default_factory=dict)

    def for_api(self, api: str) -> ApiFaults:
        return self.apis.setdefault(api, ApiFaults(_rng=random.Random(f"faults:{api}")))

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        plan = cls()
        for part in filter(None, (p.strip() for p in (spec or "").split(";"))):
            api, _, options = part.partition(":")
            apis = API_NAMES if api.strip() == "*" else (api.strip(),)
            for name in apis:
                cls._apply(plan.for_api(name), name, options)
        return plan

    @staticmethod
    def _apply(faults: ApiFaults, api: str, options: str) -> None:
        for option in filter(None, (o.strip() for o in options.split(","))):
            key, _, value = option.partition("=")
            key = key.strip()
            if key in ("error_rate", "drop_rate", "malformed_rate"):
                setattr(faults, key, float(value))
            elif key == "slow_ms":
                faults.slow_ms = int(value)
            elif key == "rate_limit" and value == "off":
                faults.rate_limit, faults.limit_headers = None, False
            elif key in ("rate_limit", "drift"):
                setattr(faults, key, value or "on")
            elif key == "bad_data":
                faults.bad_data = value.lower() not in ("0", "false", "off")
            else:
                raise ValueError(f"unknown fault {key!r} for {api}")


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def _without_limit_headers(send):
    async def send_without(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [(k, v) for k, v in message["headers"] if b"limit" not in k.lower()]}
        await send(message)

    return send_without


class FaultMiddleware:
    """ASGI middleware for the faults every vendor shares: 5xx, slowness, drops, broken JSON."""

    def __init__(self, app, plan: FaultPlan, prefixes: dict[str, str]):
        self.app = app
        self.plan = plan
        self.prefixes = prefixes  # path prefix -> api name

    def _api(self, path: str) -> str | None:
        for prefix, api in self.prefixes.items():
            if path.startswith(prefix):
                return api
        return None

    async def __call__(self, scope, receive, send):
        api = self._api(scope.get("path", "")) if scope["type"] == "http" else None
        faults = self.plan.apis.get(api) if api else None
        if faults is None:
            return await self.app(scope, receive, send)
        if not faults.limit_headers:
            send = _without_limit_headers(send)
        if faults.slow_ms:
            await asyncio.sleep(faults.slow_ms / 1000)
        if faults.roll(faults.error_rate):
            status = faults._rng.choice((500, 502, 503))
            body = b'{"error":"upstream temporarily unavailable"}'
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            return await send({"type": "http.response.body", "body": body})
        drop = faults.roll(faults.drop_rate)
        malformed = not drop and faults.roll(faults.malformed_rate)
        if not (drop or malformed):
            return await self.app(scope, receive, send)

        async def faulty_send(message):
            if message["type"] == "http.response.start" and malformed:
                message = {**message, "headers": [(k, v) for k, v in message["headers"]
                                                  if k.lower() != b"content-length"]}
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if drop:
                    # announce the full length, send half, then hang up: the client sees a dropped connection
                    await send({**message, "body": body[: len(body) // 2], "more_body": True})
                    raise ConnectionResetError("sandbox dropped the connection mid-body")
                message = {**message, "body": body[: max(1, len(body) // 2)]}
            await send(message)

        try:
            await self.app(scope, receive, faulty_send)
        except ConnectionResetError:
            pass  # uvicorn closes the half-sent response: the client sees the drop
