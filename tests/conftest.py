"""Shared fixtures: one embedded Postgres, one sandbox and one Prefect harness per test session."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pytest

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="seamline-test-"))
# Isolate every test run from the developer's .seamline/ before any project module reads it.
os.environ["SEAMLINE_HOME"] = str(_SESSION_HOME)
os.environ.setdefault("XDG_RUNTIME_DIR", str(_SESSION_HOME / "run"))
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture(scope="session")
def database():
    """A throwaway embedded PostgreSQL for the session, exported as DATABASE_URL."""
    from seamline import database as dbmod

    if os.environ.get("SEAMLINE_TEST_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["SEAMLINE_TEST_DATABASE_URL"]
        yield dbmod.get_database()
        return
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(_SESSION_HOME / "pgdata", cleanup_mode="delete")
    os.environ["DATABASE_URL"] = server.get_uri()
    db = dbmod.get_database()
    from seamline.ops import ensure_ops_schema

    ensure_ops_schema(db)
    yield db
    os.environ.pop("DATABASE_URL", None)
    server.cleanup()


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
