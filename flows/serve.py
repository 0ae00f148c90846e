"""`seamline serve`: every deployment on its schedule, served from this one process.

Point it at a Prefect server (`prefect server start`, then `PREFECT_API_URL=http://127.0.0.1:4200/api`)
to watch deployments, next runs and every task in the UI.
"""

from __future__ import annotations

import logging

from flows.deployments import ensure_concurrency_limits, load_specs, to_deployments

log = logging.getLogger(__name__)


def serve(port: int) -> int:
    from prefect import serve as prefect_serve

    ensure_concurrency_limits()
    deployments = to_deployments(load_specs())
    print(f"serving {len(deployments)} deployments: {', '.join(d.name for d in deployments)}", flush=True)
    prefect_serve(*deployments, print_starting_message=False)
    return 0
