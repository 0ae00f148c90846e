"""`make docs`: build the dbt docs site and the GX Data Docs, then serve both on one port.

    python -m flows.docs [--port 8080] [--no-serve]
"""

from __future__ import annotations

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from flows.dbt import run_dbt, target_dir
from seamline.database import get_database
from seamline.errors import SeamlineError
from seamline.runtime import configure

INDEX = b"""<!doctype html><meta charset="utf-8"><title>Seamline docs</title>
<h1>Seamline docs</h1><ul>
<li><a href="/dbt/index.html">dbt docs</a>: models, columns, lineage, tests</li>
<li><a href="/gx/index.html">Great Expectations Data Docs</a>: suites and validation results</li>
</ul>"""


def data_docs_dir() -> Path:
    from expectations import data_docs_dir as gx_dir

    return gx_dir()


class _Handler(SimpleHTTPRequestHandler):
    roots: dict[str, Path] = {}

    def translate_path(self, path: str) -> str:
        for prefix, root in self.roots.items():
            if path.startswith(f"/{prefix}/"):
                rel = path[len(prefix) + 2:].split("?", 1)[0].split("#", 1)[0]
                return str(root / rel)
        return super().translate_path(path)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path in ("/", "/index.html"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(INDEX)
            return
        super().do_GET()


def build() -> tuple[Path, Path]:
    db = get_database()
    result = run_dbt(db, "docs", "generate")
    if not result.success:
        raise SeamlineError("dbt docs generate failed (run `seamline transform` to see why)")
    from expectations import build_data_docs

    build_data_docs(db)
    return target_dir(), data_docs_dir()


def main(argv: list[str] | None = None) -> int:
    configure()
    parser = argparse.ArgumentParser(prog="python -m flows.docs")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--no-serve", action="store_true")
    args = parser.parse_args(argv)
    try:
        dbt_dir, gx_dir = build()
    except SeamlineError as exc:
        print(f"seamline: {exc}", file=sys.stderr)
        return 1
    print(f"dbt docs:  {dbt_dir / 'index.html'}\nData Docs: {gx_dir / 'index.html'}")
    if args.no_serve:
        return 0
    _Handler.roots = {"dbt": dbt_dir, "gx": gx_dir}
    server = ThreadingHTTPServer(("127.0.0.1", args.port), functools.partial(_Handler, directory=str(dbt_dir)))
    print(f"serving both on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
