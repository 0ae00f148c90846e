"""Process-wide defaults set once by every entry point (CLI, flows, tests)."""

from __future__ import annotations

import gc
import os

from seamline import settings
from seamline.masking import install_log_masking

# A sync allocates millions of short-lived dicts and lists (parsed pages) that reference counting
# frees; at Python's default (700) the cyclic collector ran so often, and its older generations
# over so many live objects, that it took a third of extraction (WooCommerce orders: 14 s -> 9 s
# per 100,000). Our data holds no cycles; the collector still runs, just less often.
GC_THRESHOLDS = (50_000, 20, 100)


def configure() -> None:
    install_log_masking()
    gc.set_threshold(*GC_THRESHOLDS)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("PREFECT_HOME", str(settings.home() / "prefect"))
    # a fresh Prefect home migrates its database on first start: give the temporary server time
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(settings.home() / "run"))
    os.makedirs(os.environ["XDG_RUNTIME_DIR"], exist_ok=True)
