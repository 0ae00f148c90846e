"""`seamline serve`: every deployment on its schedule, served from this one process.

Point it at a Prefect server (`prefect server start`, then `PREFECT_API_URL=http://127.0.0.1:4200/api`)
to watch deployments, next runs and every task in the UI.

Beside them, one web server (uvicorn in a background thread) on `--port`, bound to
SEAMLINE_DASHBOARD_HOST (default 127.0.0.1), serves two apps:
- `/webhooks/<source>`: the webhook receiver (no login: each vendor's signature is its
  authentication), with the processor that turns its events into incremental syncs;
- `/`: the health dashboard, behind its password. Without SEAMLINE_DASHBOARD_PASSWORD the
  dashboard is left out (one line on stderr says so) and the receiver and schedules still run:
  syncs matter more than the page.
"""

from __future__ import annotations

import logging
import os
import sys

from starlette.applications import Starlette
from starlette.routing import Mount

from flows.deployments import ensure_concurrency_limits, load_specs, to_deployments

log = logging.getLogger(__name__)


def serve(port: int) -> int:
    from prefect import serve as prefect_serve

    ensure_concurrency_limits()
    deployments = to_deployments(load_specs())
    print(f"serving {len(deployments)} deployments: {', '.join(d.name for d in deployments)}", flush=True)
    web, processor = start_web(port)
    try:
        prefect_serve(*deployments, print_starting_message=False)
    finally:
        if web is not None:
            web.stop()
        if processor is not None:
            processor.stop()
    return 0


def build_web_app(db) -> Starlette:
    """The receiver at `/webhooks`, and the dashboard at `/` when its password is configured."""
    from webhooks.receiver import build_receiver_app

    routes = [Mount("/webhooks", app=build_receiver_app(db))]
    dashboard = dashboard_app(lambda: db)
    if dashboard is not None:
        routes.append(Mount("/", app=dashboard))
    return Starlette(routes=routes)


def dashboard_app(database):
    """The dashboard app on `database()`; None (and one line on stderr) without a password."""
    from flows.dashboard import build_dashboard_app
    from flows.dashboard.auth import configured_password
    from seamline.errors import SeamlineError

    try:
        configured_password()  # checked first: no password, no dashboard, whatever else works
        return build_dashboard_app(database())
    except SeamlineError as exc:
        print(f"seamline: dashboard not started: {exc}", file=sys.stderr, flush=True)
        return None


def start_dashboard(port: int):
    """The dashboard alone, started; None (and one line on stderr) if it cannot start."""
    from flows.dashboard import DashboardServer
    from seamline.database import get_database
    from seamline.errors import SeamlineError

    app = dashboard_app(get_database)
    if app is None:
        return None
    try:
        server = DashboardServer(app, port=port, host=os.environ.get("SEAMLINE_DASHBOARD_HOST", "127.0.0.1")).start()
    except SeamlineError as exc:
        print(f"seamline: dashboard not started: {exc}", file=sys.stderr, flush=True)
        return None
    print(f"dashboard: {server.url} (log in with SEAMLINE_DASHBOARD_PASSWORD)", flush=True)
    return server


def start_web(port: int):
    """(web server, webhook processor), both started; (None, None) and one line on stderr if they cannot."""
    from flows.dashboard import DashboardServer  # a uvicorn-in-a-thread runner, for any app
    from seamline.database import get_database
    from seamline.errors import SeamlineError
    from webhooks.processor import Processor

    try:
        db = get_database()
        app = build_web_app(db)
        server = DashboardServer(app, port=port, host=os.environ.get("SEAMLINE_DASHBOARD_HOST", "127.0.0.1")).start()
    except SeamlineError as exc:
        print(f"seamline: web server not started: {exc}", file=sys.stderr, flush=True)
        return None, None
    processor = Processor(db).start()
    base = server.url.rstrip("/")
    print(f"webhooks: {base}/webhooks/<source> (signed by WEBHOOKS__<SOURCE>__SECRET)", flush=True)
    if any(isinstance(route, Mount) and route.path == "" for route in app.routes):
        print(f"dashboard: {server.url} (log in with SEAMLINE_DASHBOARD_PASSWORD)", flush=True)
    return server, processor
