"""Shared fixtures: one embedded Postgres, one sandbox and one Prefect harness per test session."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import errors, sql

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="seamline-test-"))
# Isolate every test run from the developer's .seamline/ before any project module reads it.
os.environ["SEAMLINE_HOME"] = str(_SESSION_HOME)
os.environ.setdefault("XDG_RUNTIME_DIR", str(_SESSION_HOME / "run"))
os.environ["PREFECT_HOME"] = str(_SESSION_HOME / "prefect")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
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

        # not SEAMLINE_HOME/pgdata: that is where the default embedded server would live, and the
        # tests check that setting DATABASE_URL leaves it alone
        server = pgserver.get_server(_SESSION_HOME / "test-pgdata", cleanup_mode="delete")
    os.environ["DATABASE_URL"] = server.get_uri()
    db = dbmod.get_database()
    from seamline.ops import ensure_ops_schema

    ensure_ops_schema(db)
    yield db
    os.environ.pop("DATABASE_URL", None)
    server.cleanup()


def rows(db, sql: str, *params) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, params or None)
        return cur.fetchall()


def timed(timings: dict, label: str, fn, *args, **kwargs):
    """Call fn, keeping how long it took under `label` (printed by the slow tests)."""
    started = time.monotonic()
    result = fn(*args, **kwargs)
    timings[label] = round(time.monotonic() - started, 1)
    return result


def model_rows(db, model: str, order_by: str, where: str = "true") -> list[tuple]:
    """A model's rows without the columns that say when a row was rebuilt (source_changed_at,
    built_at): what an incremental build and a full refresh must agree on."""
    columns = ", ".join(row[0] for row in rows(db, """
        select column_name from information_schema.columns
        where table_schema || '.' || table_name = %s and column_name not in ('source_changed_at', 'built_at')
        order by ordinal_position
    """, model))
    return rows(db, f"select {columns} from {model} where {where} order by {order_by}")


def run_unit_tests(db, timings: dict | None = None) -> int:
    """Every dbt unit test of the models enabled for the sources landed, which production builds
    leave out (flows/dbt.py); asserts they all pass and returns how many ran."""
    import json

    from flows.dbt import run_dbt, target_dir

    result = timed({} if timings is None else timings, "dbt unit tests", run_dbt, db, "test", "--select", "test_type:unit")
    enabled = json.loads((target_dir() / "manifest.json").read_text())["unit_tests"]
    assert result.success, result.failures
    assert enabled and result.counts == {"pass": len(enabled)}, result.counts
    return len(enabled)


def scalar(db, sql: str, *params):
    """The first column of the first row of a query."""
    with db.cursor() as cur:
        cur.execute(sql, params or None)  # no params: a literal % must not read as a placeholder
        return cur.fetchone()[0]


# -- roles: the tests log in as the roles `seamline db grant` makes, and as Supabase's ---------------
def ensure_role(db, role: str, options: str = "nologin") -> None:
    """A role as Supabase has it; the session's database outlives one module, so create once."""
    if not scalar(db, "select count(*) from pg_roles where rolname = %s", role):
        with db.cursor() as cur:
            cur.execute(sql.SQL("create role {} " + options).format(sql.Identifier(role)))


@contextlib.contextmanager
def connect_as(db, role: str, password: str | None = None):
    """A real login as the role (autocommit: one refused query must not abort the next)."""
    conn = psycopg2.connect(host=db.host, port=db.port, dbname=db.dbname, user=role, password=password)
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def can_read(conn, relation: str) -> bool:
    with conn.cursor() as cur:
        try:
            cur.execute(f"select count(*) from {relation}")
            cur.fetchone()
            return True
        except errors.InsufficientPrivilege:
            return False


@contextlib.contextmanager
def serve_world(world, faults: str | None = None):
    """Serve a sandbox world in-process on a free loopback port, pointing the sources at it."""
    from sandbox.faults import FaultPlan
    from sandbox.server import SandboxServer

    with SandboxServer(world, faults=FaultPlan.parse(faults)) as server:
        saved = {k: os.environ.get(k) for k in server.settings()}
        os.environ.update(server.settings())
        try:
            yield server
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


# -- the browser tests: Debian's chromium driven by Playwright (never `playwright install`) ----------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def log_in(page, base: str, password: str):
    page.goto(f"{base}/")
    assert "/login" in page.url  # no session: sent to the login form
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
