"""Serve the dashboard alone: `python -m flows.dashboard [--port 8765] [--host 127.0.0.1]`."""

from __future__ import annotations

import argparse
import os
import sys

from seamline.errors import SeamlineError
from seamline.runtime import configure


def main(argv: list[str] | None = None) -> int:
    configure()
    p = argparse.ArgumentParser(prog="python -m flows.dashboard")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default=os.environ.get("SEAMLINE_DASHBOARD_HOST", "127.0.0.1"))
    args = p.parse_args(argv)
    try:
        from flows.dashboard import build_dashboard_app
        from flows.dashboard.auth import configured_password
        from seamline.database import get_database

        configured_password()  # no password: refuse before starting or touching any database
        app = build_dashboard_app(get_database())
    except SeamlineError as exc:
        print(f"seamline: {exc}", file=sys.stderr)
        return 1
    import uvicorn

    print(f"dashboard: http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
