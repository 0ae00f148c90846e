"""`seamline doctor`: the readiness checks, against the real database where they need one."""

from __future__ import annotations

from conftest import ensure_role

from flows.cli import main
from seamline.database import Database
from seamline.doctor import doctor, pooler_check, run_checks, sslmode_check

PREFIX = "doctor_"
SECRET = "pw-9d2kq7x"
POOLER_URL = f"postgresql://postgres.abcdefgh:{SECRET}@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"


def by_name(checks) -> dict[str, str]:
    return {c.name: c.status for c in checks}


def as_role(db: Database, role: str) -> Database:
    """The same database, logged in as another role (the test server trusts local sockets)."""
    return Database(f"postgresql://{role}@/{db.dbname}?host={db.host}&port={db.port}")


def test_the_transaction_pooler_is_refused_before_connecting(monkeypatch, capsys):
    check = pooler_check(Database(POOLER_URL))
    assert check.status == "FAIL"
    assert "session pooler" in check.line() and "5432" in check.line()
    # nothing listens there: a refusal that tried to connect would say so, after a timeout
    assert [c.name for c in run_checks(Database(POOLER_URL))] == ["pooler"]
    monkeypatch.setenv("DATABASE_URL", POOLER_URL)
    assert main(["doctor"]) == 1
    out = capsys.readouterr()
    assert "FAIL  pooler: port 6543 is Supabase's transaction pooler" in out.out
    assert SECRET not in out.out + out.err
    session = pooler_check(Database(POOLER_URL.replace(":6543/", ":5432/")))
    assert session.status == "ok"


def test_sslmode_is_required_for_a_remote_host_only():
    remote = "postgresql://u:p@db.abcdefgh.supabase.co:5432/postgres"
    assert sslmode_check(Database(remote)).status == "warn"
    assert sslmode_check(Database(remote + "?sslmode=require")).status == "ok"
    assert sslmode_check(Database(remote + "?sslmode=verify-full")).status == "ok"
    assert sslmode_check(Database("postgresql://u:p@localhost:5432/postgres")).status == "ok"


def test_a_ready_database_passes(database, monkeypatch, capsys):
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
    lines, code = doctor(database)
    assert code == 0, lines
    assert [line.split()[0] for line in lines] == ["ok"] * 6, lines
    assert database.masked_url in lines[1]


def test_a_short_statement_timeout_warns(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
    ensure_role(database, "doctor_hasty", "login")
    with database.cursor() as cur:
        cur.execute("alter role doctor_hasty set statement_timeout = '5s'")
    checks = run_checks(as_role(database, "doctor_hasty"))
    assert by_name(checks)["statement_timeout"] == "warn"
    line = next(c.line() for c in checks if c.name == "statement_timeout")
    assert "5 s for doctor_hasty" in line and "alter role doctor_hasty set statement_timeout" in line
    with database.cursor() as cur:
        cur.execute("alter role doctor_hasty set statement_timeout = '20min'")
    assert by_name(run_checks(as_role(database, "doctor_hasty")))["statement_timeout"] == "ok"


def test_exposed_raw_schemas_fail_until_granted(database, monkeypatch, capsys):
    from seamline.grants import grant_tenant

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
    ensure_role(database, "anon")
    ensure_role(database, "authenticated")
    with database.cursor() as cur:
        cur.execute(f"create schema if not exists {PREFIX}raw_woocommerce")
        cur.execute(f"grant usage on schema {PREFIX}raw_woocommerce to anon")
    checks = run_checks(database)
    assert by_name(checks)["anon/authenticated"] == "FAIL"
    assert f"anon on {PREFIX}raw_woocommerce" in next(c.message for c in checks if c.name == "anon/authenticated")
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["doctor"]) == 1
    assert "FAIL  anon/authenticated" in capsys.readouterr().out
    grant_tenant(database)
    assert by_name(run_checks(database))["anon/authenticated"] == "ok"


def test_raw_schemas_in_the_data_api_fail(database, monkeypatch):
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
    ensure_role(database, "authenticator", "noinherit login")
    with database.cursor() as cur:
        cur.execute(f"alter role authenticator set pgrst.db_schemas = 'public, graphql_public, {PREFIX}raw_xero'")
    try:
        checks = run_checks(database)
        assert by_name(checks)["data api"] == "FAIL"
        assert f"exposes {PREFIX}raw_xero" in next(c.message for c in checks if c.name == "data api")
        with database.cursor() as cur:
            cur.execute("alter role authenticator set pgrst.db_schemas = 'public, graphql_public'")
        assert by_name(run_checks(database))["data api"] == "ok"
    finally:
        with database.cursor() as cur:
            cur.execute("alter role authenticator reset pgrst.db_schemas")
