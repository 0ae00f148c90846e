"""The bench's own SEAMLINE_HOME: a temporary folder whose embedded database is stopped and whose
files are removed when the bench ends (a 1,000,000-order run leaves some 20 GB). A SEAMLINE_HOME
set by the caller is the caller's: kept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def scratch_home() -> Iterator[Path]:
    if os.environ.get("SEAMLINE_HOME"):
        yield Path(os.environ["SEAMLINE_HOME"])
        return
    home = Path(tempfile.mkdtemp(prefix="seamline-bench-"))
    os.environ["SEAMLINE_HOME"] = str(home)
    try:
        yield home
    finally:
        os.environ.pop("SEAMLINE_HOME", None)
        if (home / "pgdata").exists():
            from seamline.database import stop_embedded

            with contextlib.suppress(Exception):  # already stopped, or never started
                stop_embedded(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)
