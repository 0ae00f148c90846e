"""Process-wide defaults set once by every entry point (CLI, flows, tests)."""

from __future__ import annotations

import os

from seamline import settings
from seamline.masking import install_log_masking


def configure() -> None:
    install_log_masking()
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
