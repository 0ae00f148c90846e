"""Serve the receiver alone: `python -m webhooks [--port 8765] [--host 127.0.0.1] [--no-processor]`.

`seamline serve` is the usual way (receiver, dashboard and schedules in one process); this
one is for a receiver on its own machine or port, and for the tests that kill it."""

from __future__ import annotations

import argparse
import os
import sys

from seamline.errors import SeamlineError
from seamline.runtime import configure


def main(argv: list[str] | None = None) -> int:
    configure()
    p = argparse.ArgumentParser(prog="python -m webhooks")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--host", default=os.environ.get("SEAMLINE_DASHBOARD_HOST", "127.0.0.1"))
    p.add_argument("--no-processor", action="store_true", help="only receive; another process syncs")
    args = p.parse_args(argv)
    import uvicorn

    from seamline.database import get_database
    from webhooks.processor import Processor
    from webhooks.receiver import build_app

    try:
        db = get_database()
        app = build_app(db)
    except SeamlineError as exc:
        print(f"seamline: {exc}", file=sys.stderr)
        return 1
    processor = None if args.no_processor else Processor(db).start()
    print(f"webhooks: http://{args.host}:{args.port}/webhooks/<source>", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        if processor is not None:
            processor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
