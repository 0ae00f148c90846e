"""The database setting: DATABASE_URL wins, passwords never print, an unreachable one fails in one line."""

from __future__ import annotations

import os
import subprocess
import sys

from seamline import settings
from seamline.database import Database
from seamline.masking import mask_text, mask_url


def test_mask_url_hides_only_the_password():
    url = "postgresql://analyst:s3cr3t-pw@db.example.supabase.co:5432/postgres?sslmode=require"
    masked = mask_url(url)
    assert "s3cr3t-pw" not in masked
    assert masked == "postgresql://analyst:****@db.example.supabase.co:5432/postgres?sslmode=require"
    assert mask_url("postgresql://postgres:@/postgres?host=/tmp/x") == "postgresql://postgres:****@/postgres?host=/tmp/x"


def test_mask_text_hides_urls_and_key_values():
    text = "failed for postgresql://u:hunter2@h/db with consumer_secret=cs_abc123 and token: tok_9999"
    masked = mask_text(text, ("tok_9999",))
    assert "hunter2" not in masked and "cs_abc123" not in masked and "tok_9999" not in masked


def test_socket_url_is_handed_to_each_tool_in_its_form():
    db = Database("postgresql://postgres:@/postgres?host=/tmp/sock")
    assert db.host == "/tmp/sock" and db.port == 5432 and db.dbname == "postgres"
    # dlt insists on a host and a password: a nominal one, with the socket in the query
    assert db.dlt_credentials() == "postgresql://postgres:seamline@localhost/postgres?host=%2Ftmp%2Fsock"
    assert db.sqlalchemy_url().startswith("postgresql+psycopg2://postgres:seamline@localhost/postgres?")
    env = db.dbt_env()
    assert env["SEAMLINE_PG_HOST"] == "/tmp/sock" and env["SEAMLINE_PG_PORT"] == "5432"


def test_supabase_url_keeps_sslmode():
    db = Database("postgresql://postgres.abc:pw@aws-0.pooler.supabase.com:5432/postgres?sslmode=require")
    assert db.sslmode == "require"
    assert db.dbt_env()["SEAMLINE_PG_SSLMODE"] == "require"
    assert "sslmode=require" in db.dlt_credentials()


def test_database_url_is_used_and_the_default_embedded_server_is_left_alone(database):
    assert os.environ["DATABASE_URL"] == database.url
    assert not database.embedded
    with database.cursor() as cur:
        cur.execute("select current_database()")
        assert cur.fetchone()[0] == "postgres"
    # the tests ran against DATABASE_URL: nothing created the default server's data directory
    assert not (settings.home() / "pgdata").exists()


def _seamline(*args, env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=settings.PROJECT_ROOT)


def test_unreachable_database_fails_in_one_masked_line():
    result = _seamline("status", env_extra={"DATABASE_URL": "postgresql://shop:Sup3rSecret@127.0.0.1:1/shopdb"})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1" in lines[0] and "Connection refused" in lines[0]
    assert "Sup3rSecret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_unknown_host_names_the_host():
    result = _seamline("sync", env_extra={"DATABASE_URL": "postgresql://u:pw12345@no-such-host.invalid/db"})
    assert result.returncode == 1
    assert "no-such-host.invalid" in result.stderr and "pw12345" not in result.stderr
    assert "Traceback" not in result.stderr
