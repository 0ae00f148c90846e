"""The receiver: `POST /webhooks/<source>`, one endpoint per vendor, keyed by its signing secret.

A delivery is verified, then committed to `ops.webhook_events`, and only then answered 2xx:
an acknowledged delivery survives the process being killed the next instant. Refused
deliveries (401 signature, 400 unreadable) and anything that fails before the commit (503,
so the vendor tries again) are stored nowhere. Nothing slow happens here: syncing is the
processor's job, so the answer comes in milliseconds, well inside the vendors' 5 s.
"""

from __future__ import annotations

import logging
import time

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from seamline.database import Database
from webhooks.secrets import secret_for
from webhooks.store import ConnectionPool, ensure_tables, record
from webhooks.vendors import VERIFIERS, Refused

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 5 * 1024 * 1024


def build_receiver_app(db: Database, pool_size: int = 8, clock=time.time) -> Starlette:
    """The receiver alone, routes `/<source>` (mount it at `/webhooks`)."""
    ensure_tables(db)
    pool = ConnectionPool(db, pool_size)

    async def receive(request: Request) -> Response:
        source = request.path_params["source"]
        verify = VERIFIERS.get(source)
        if verify is None:
            return PlainTextResponse(f"no webhooks for {source!r}; known: {', '.join(sorted(VERIFIERS))}", 404)
        secret = secret_for(source)
        if not secret:
            # not 401: the sender is not at fault; 503 lets a vendor retry once it is configured
            return PlainTextResponse(f"WEBHOOKS__{source.upper()}__SECRET is not configured", 503)
        body = bytearray()
        async for chunk in request.stream():  # read with a cap: a declared length may lie, or be absent
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return PlainTextResponse("body too large", 413)
        body = bytes(body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            delivery = verify(body, headers, dict(request.query_params), secret, clock())
        except Refused as refused:
            return _answer(source, refused.status, {"error": str(refused)})
        if delivery is None:  # a handshake: answered, nothing to store
            return _answer(source, 200, {"handshake": True})
        try:
            event_id, first = await run_in_threadpool(record, pool, delivery, body, headers)
        except Exception as exc:  # the database is away: not acknowledged, so the vendor sends it again
            log.warning("webhook from %s not stored: %s", source, type(exc).__name__)
            return _answer(source, 503, {"error": "not stored, try again"})
        return _answer(source, 200, {"event_id": event_id, "duplicate": not first})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/healthz", healthz), Route("/{source}", receive, methods=["POST"])])
    app.state.pool = pool
    return app


def _answer(source: str, status: int, body: dict) -> Response:
    if source == "xero":
        return Response(status_code=status)  # Xero wants an empty body, whatever the status
    return JSONResponse(body, status_code=status)


def build_app(db: Database) -> Starlette:
    """The receiver at `/webhooks`, as `seamline serve` mounts it (used when serving it alone)."""
    return Starlette(routes=[Mount("/webhooks", app=build_receiver_app(db))])
