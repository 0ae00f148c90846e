"""`seamline serve`: every deployment on its schedule, served from this one process.

Point it at a Prefect server (`prefect server start`, then `PREFECT_API_URL=http://127.0.0.1:4200/api`)
to watch deployments, next runs and every task in the UI.

The health dashboard runs beside them (uvicorn in a background thread) on `--port`, bound to
SEAMLINE_DASHBOARD_HOST (default 127.0.0.1). Without SEAMLINE_DASHBOARD_PASSWORD it does not start
(one line on stderr says so) while the schedules still run: syncs matter more than the page.
"""

from __future__ import annotations

import logging
import os
import sys

from flows.deployments import ensure_concurrency_limits, load_specs, to_deployments

log = logging.getLogger(__name__)


def serve(port: int) -> int:
    from prefect import serve as prefect_serve

    ensure_concurrency_limits()
    deployments = to_deployments(load_specs())
    print(f"serving {len(deployments)} deployments: {', '.join(d.name for d in deployments)}", flush=True)
    dashboard = start_dashboard(port)
    try:
        prefect_serve(*deployments, print_starting_message=False)
    finally:
        if dashboard is not None:
            dashboard.stop()
    return 0


def start_dashboard(port: int):
    """The dashboard server, started; None (and one line on stderr) if it cannot start."""
    from flows.dashboard import DashboardServer, build_dashboard_app
    from flows.dashboard.auth import configured_password
    from seamline.database import get_database
    from seamline.errors import SeamlineError

    try:
        configured_password()  # checked first: no password, no dashboard, whatever else works
        server = DashboardServer(build_dashboard_app(get_database()), port=port,
                                 host=os.environ.get("SEAMLINE_DASHBOARD_HOST", "127.0.0.1")).start()
    except SeamlineError as exc:
        print(f"seamline: dashboard not started: {exc}", file=sys.stderr, flush=True)
        return None
    print(f"dashboard: {server.url} (log in with SEAMLINE_DASHBOARD_PASSWORD)", flush=True)
    return server
