"""Run the dashboard app with uvicorn in a background thread, next to Prefect's serve loop."""

from __future__ import annotations

import threading
import time

import uvicorn

from seamline.errors import SeamlineError


class DashboardServer:
    def __init__(self, app, port: int, host: str = "127.0.0.1"):
        self.host, self.port = host, port
        # lifespan off: the app has no startup work; signals stay with the main thread (Prefect's)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="seamline-dashboard", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self, timeout: float = 15) -> DashboardServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():  # uvicorn exits its thread when it cannot bind
                raise SeamlineError(f"the dashboard could not listen on {self.host}:{self.port} (port in use?)")
            if time.monotonic() > deadline:
                raise SeamlineError(f"the dashboard did not start on {self.host}:{self.port} in {timeout:.0f}s")
            time.sleep(0.05)
        if self.port == 0:  # an OS-chosen free port (tests): read back which
            self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
