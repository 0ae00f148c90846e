"""`seamline db grant`: two shops side by side, each readable only through its own roles,
proven by logging in as those roles; Supabase's API roles read nothing."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import psycopg2
import pytest
from conftest import can_read, connect_as, ensure_role, scalar, serve_world
from psycopg2 import sql

from flows.cli import main
from sandbox.world import World

TENANTS = {"shop_a": ("shop_a_", 31), "shop_b": ("shop_b_", 32)}
PASSWORD = "analyst-pw-7f3k"
API_LOGINS = {"anon": "api_as_anon", "authenticated": "api_as_authenticated"}
TIMINGS: dict[str, float] = {}


def like(prefix: str) -> str:
    """A LIKE pattern for the schemas of a prefix (its underscores are literal)."""
    return prefix.replace("_", r"\_") + "%"


def supabase_defaults(db, prefix: str) -> None:
    """What a careless setup on Supabase looks like: the API roles and PUBLIC may use and read
    everything, now and later."""
    with db.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like %s", (like(prefix),))
        for (schema,) in cur.fetchall():
            s = sql.Identifier(schema)
            cur.execute(sql.SQL("grant usage on schema {} to public, anon, authenticated").format(s))
            cur.execute(sql.SQL("grant select on all tables in schema {} to public, anon, authenticated").format(s))
            cur.execute(sql.SQL("alter default privileges in schema {} grant select on tables to anon, "
                                "authenticated").format(s))


def load_shop(db, prefix: str, seed: int, monkeypatch) -> int:
    """A real WooCommerce sync and the dbt models under fct_orders, under the shop's prefix."""
    from flows.dbt import run_dbt
    from ingest.sync import sync_source
    from seamline.ops import ensure_ops_schema

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", prefix)
    with db.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like %s", (like(prefix),))
        for (schema,) in cur.fetchall():
            cur.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
    ensure_ops_schema(db)
    world = World(seed=seed, scale=100)
    with serve_world(world):
        started = time.monotonic()
        result = sync_source("woocommerce", full_refresh=True, db=db)
        assert result.status == "success", result.message
        TIMINGS[f"sync {prefix}"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    build = run_dbt(db, "build", "--select", "+fct_orders", "--indirect-selection", "cautious")
    TIMINGS[f"dbt {prefix}"] = round(time.monotonic() - started, 1)
    assert build.success, build.failures
    return len(world.woocommerce.orders)


def acl_state(db, prefixes) -> list:
    """Everything grant may change: owners and ACLs of schemas and relations, default ACLs, roles."""
    patterns = [like(p) for p in prefixes]
    with db.cursor() as cur:
        cur.execute("""
            select n.nspname, n.nspowner::regrole::text, n.nspacl::text, c.relname, c.relowner::regrole::text,
                   c.relacl::text, c.relrowsecurity
            from pg_namespace n left join pg_class c on c.relnamespace = n.oid
            where n.nspname like any(%s) order by 1, 4""", (patterns,))
        state = cur.fetchall()
        cur.execute("select defaclrole::regrole::text, defaclnamespace::regnamespace::text, defaclobjtype, "
                    "defaclacl::text from pg_default_acl order by 1, 2, 3")
        state += cur.fetchall()
        cur.execute("select rolname, rolcanlogin from pg_roles where rolname like 'seamline_%' order by 1")
        return state + cur.fetchall()


@pytest.fixture(scope="module")
def shops(database):
    ensure_role(database, "anon")
    ensure_role(database, "authenticated")
    for api_role, login in API_LOGINS.items():
        ensure_role(database, login, "login")
        with database.cursor() as cur:
            cur.execute(sql.SQL("grant {} to {}").format(sql.Identifier(api_role), sql.Identifier(login)))
    loaded = {}
    with pytest.MonkeyPatch.context() as mp:
        for tenant, (prefix, seed) in TENANTS.items():
            loaded[tenant] = load_shop(database, prefix, seed, mp)
            supabase_defaults(database, prefix)
    print("\ntimings (s):", TIMINGS)
    return loaded


def grant(prefix: str, monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", prefix)
    monkeypatch.setenv("SHOP_ANALYST_PASSWORD", PASSWORD)
    code = main(["db", "grant", "--analyst-password-env", "SHOP_ANALYST_PASSWORD"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def granted(shops, database):
    for prefix, _ in TENANTS.values():  # before: the careless setup really exposes the raw data
        with connect_as(database, API_LOGINS["anon"]) as conn:
            assert can_read(conn, f"{prefix}raw_woocommerce.customers")
    outputs = {}
    with pytest.MonkeyPatch.context() as mp:
        for tenant, (prefix, _) in TENANTS.items():
            mp.setenv("SEAMLINE_SCHEMA_PREFIX", prefix)
            mp.setenv("SHOP_ANALYST_PASSWORD", PASSWORD)
            from seamline.grants import grant_tenant, password_from_env

            outputs[tenant] = grant_tenant(database, password_from_env("SHOP_ANALYST_PASSWORD"))
            assert f"role seamline_{tenant}_analyst: created (login, read-only), password set" in outputs[tenant]
    with passwords_required(database):
        yield outputs


@contextlib.contextmanager
def passwords_required(db):
    """The test server trusts its socket; the analysts must log in with their password for real."""
    hba = Path(scalar(db, "show hba_file"))
    if not os.access(hba, os.W_OK):  # a server elsewhere (SEAMLINE_TEST_DATABASE_URL): as it is
        yield
        return
    original = hba.read_text()
    analysts = ",".join(f"seamline_{tenant}_analyst" for tenant in TENANTS)
    hba.write_text(f"local all {analysts} scram-sha-256\n{original}")
    scalar(db, "select pg_reload_conf()")
    try:
        yield
    finally:
        hba.write_text(original)
        scalar(db, "select pg_reload_conf()")


def test_each_analyst_reads_its_own_marts_only(granted, shops, database):
    for tenant, (prefix, _) in TENANTS.items():
        other = next(p for t, (p, _) in TENANTS.items() if t != tenant)
        with connect_as(database, f"seamline_{tenant}_analyst", PASSWORD) as conn, conn.cursor() as cur:
            cur.execute(f"select count(*) from {prefix}marts.fct_orders where channel = 'web'")
            assert cur.fetchone()[0] == shops[tenant]
            assert not can_read(conn, f"{other}marts.fct_orders")
            assert not can_read(conn, f"{other}raw_woocommerce.orders")
            assert not can_read(conn, f"{prefix}raw_woocommerce.orders")
            assert not can_read(conn, f"{prefix}staging.stg_woocommerce__orders")
            assert not can_read(conn, f"{prefix}ops.sync_runs")


def test_an_analyst_needs_its_password(granted, database):
    with connect_as(database, "seamline_shop_a_analyst", PASSWORD) as conn:
        assert can_read(conn, "shop_a_marts.fct_orders")
    if os.access(scalar(database, "show hba_file"), os.W_OK):
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(host=database.host, port=database.port, dbname=database.dbname,
                             user="seamline_shop_a_analyst", password="not-" + PASSWORD).close()
    assert scalar(database, "select rolpassword like 'SCRAM-SHA-256$4096:%%' from pg_authid "
                  "where rolname = %s", "seamline_shop_a_analyst")


def test_each_owner_role_reaches_only_its_own_schemas(granted, shops, database):
    for tenant, (prefix, _) in TENANTS.items():
        other = next(p for t, (p, _) in TENANTS.items() if t != tenant)
        with connect_as(database, database.user) as conn:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("set role {}").format(sql.Identifier(f"seamline_{tenant}")))
            assert can_read(conn, f"{prefix}raw_woocommerce.orders")
            assert not can_read(conn, f"{other}raw_woocommerce.orders")
            assert not can_read(conn, f"{other}marts.fct_orders")
        assert scalar(database, "select count(*) from pg_namespace where nspname like %s and "
                      "nspowner::regrole::text <> %s", like(prefix), f"seamline_{tenant}") == 0


def test_supabase_api_roles_read_nothing(granted, database):
    for login in API_LOGINS.values():
        with connect_as(database, login) as conn:
            for prefix, _ in TENANTS.values():
                for relation in ("marts.fct_orders", "raw_woocommerce.orders", "raw_woocommerce.customers",
                                 "ops.sync_runs", "staging.stg_woocommerce__orders"):
                    assert not can_read(conn, prefix + relation), (login, prefix + relation)
    prefixes = [p for p, _ in TENANTS.values()]
    assert scalar(database, """
        select count(*) from pg_namespace n cross join (values ('anon'), ('authenticated')) r(role)
        where n.nspname like any(%s) and has_schema_privilege(r.role, n.oid, 'usage')""",
                  [like(p) for p in prefixes]) == 0


def test_tables_built_later_follow_the_same_rules(granted, database):
    prefix = TENANTS["shop_a"][0]
    with database.cursor() as cur:  # as the loader (dbt) creates a new mart
        cur.execute(f"create table {prefix}marts.later_mart as select 1 as n")
    try:
        with connect_as(database, "seamline_shop_a_analyst", PASSWORD) as conn:
            assert can_read(conn, f"{prefix}marts.later_mart")
        with connect_as(database, "api_as_anon") as conn:
            assert not can_read(conn, f"{prefix}marts.later_mart")
        with connect_as(database, "seamline_shop_b_analyst", PASSWORD) as conn:
            assert not can_read(conn, f"{prefix}marts.later_mart")
    finally:
        with database.cursor() as cur:
            cur.execute(f"drop table {prefix}marts.later_mart")


def test_grant_twice_changes_nothing_and_prints_no_password(granted, database, monkeypatch, capsys):
    prefixes = [p for p, _ in TENANTS.values()]
    before = acl_state(database, prefixes)
    for prefix, _ in TENANTS.values():
        code, output = grant(prefix, monkeypatch, capsys)
        assert code == 0
        assert PASSWORD not in output
        tenant = prefix.strip("_")
        assert f"role seamline_{tenant}: exists (nologin, owner)" in output
        assert f"role seamline_{tenant}_analyst: exists (login, read-only), password set" in output
        assert f"schema {prefix}marts: seamline_{tenant}_analyst may read" in output
        schemas = {row[0] for row in before if isinstance(row[0], str) and row[0].startswith(prefix)}
        assert f"schema {prefix}marts: seamline_{tenant}_hashed may read the columns not marked pii" in output
        # one line per schema of the shop, and two more for the analysts' marts
        assert output.count(f"schema {prefix}") == len(schemas) + 2
    assert acl_state(database, prefixes) == before


def test_a_named_but_unset_password_variable_is_refused(database, monkeypatch, capsys):
    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "shop_c_")
    monkeypatch.delenv("NO_SUCH_PASSWORD", raising=False)
    assert main(["db", "grant", "--analyst-password-env", "NO_SUCH_PASSWORD"]) == 1
    assert "NO_SUCH_PASSWORD is not set" in capsys.readouterr().err
    assert scalar(database, "select count(*) from pg_roles where rolname like %s", "seamline_shop_c%") == 0
