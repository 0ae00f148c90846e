"""Serve the sandbox on loopback: in a background thread (tests, demo) or in the foreground (CLI)."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time

import uvicorn

from sandbox.app import build_app, source_settings
from sandbox.faults import FaultPlan


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _freeze_heap() -> None:
    """Keep the garbage collector off the world's objects while serving.

    A large world is hundreds of thousands of long-lived objects; every page rendered makes
    thousands of short-lived dicts, which set off full collections that walk all of them again
    (a third of the serving time, measured at 100,000 orders). Garbage first, then freeze what is
    left (the world among it) out of the collector's view until `stop` unfreezes it."""
    gc.collect()
    gc.freeze()


def with_advance(app, world):
    """The app plus `POST /_sandbox/advance?hours=N`: move the world forward (and so send its
    webhooks) from outside, e.g. with curl while `seamline serve` receives them."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    async def advance(request):
        try:
            hours = float(request.query_params.get("hours", "1"))
        except ValueError:
            hours = 0
        if not 0 < hours <= 744:
            return JSONResponse({"error": "hours must be a number between 0 and 744"}, 400)
        changes = await run_in_threadpool(world.advance, hours)
        return JSONResponse({name: {kind: len(ids) for kind, ids in kinds.items()} for name, kinds in changes.items()})

    return Starlette(routes=[Route("/_sandbox/advance", advance, methods=["POST"]), Mount("", app=app)])


class SandboxServer:
    """`with SandboxServer(world) as sandbox:` serves the world until the block ends."""

    def __init__(self, world, host: str = "127.0.0.1", port: int = 0, faults: FaultPlan | None = None,
                 webhook_url: str | None = None, advance_route: bool = False):
        self.world = world
        # where the world's changes are sent as signed webhooks (e.g. http://127.0.0.1:8765/webhooks),
        # signed with the receiver's own WEBHOOKS__<SOURCE>__SECRET values; unset: none are sent
        self.webhook_url = webhook_url or os.environ.get("SEAMLINE_SANDBOX_WEBHOOK_URL") or None
        self.webhooks = None
        self.host = host
        self.port = port or free_port(host)
        self.faults = faults or FaultPlan()
        app = build_app(world, self.faults)
        if self.webhook_url or advance_route:  # advance_route: a world served from another process
            app = with_advance(app, world)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self) -> dict[str, str]:
        return source_settings(self.world, self.base_url)

    def _send_webhooks(self) -> None:
        if self.webhook_url and self.webhooks is None:
            from sandbox.webhooks import SENDS, WebhookSender

            secrets = {name: os.environ.get(f"WEBHOOKS__{name.upper()}__SECRET", "") for name in SENDS}
            self.webhooks = WebhookSender(self.world, self.webhook_url, secrets).attach()

    def start(self) -> SandboxServer:
        self._send_webhooks()
        _freeze_heap()
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.base_url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.webhooks is not None:
            self.webhooks.close()
        gc.unfreeze()  # a world no longer served can be collected again

    def serve_forever(self) -> None:
        self._send_webhooks()
        _freeze_heap()
        try:
            self._server.run()
        finally:
            gc.unfreeze()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
