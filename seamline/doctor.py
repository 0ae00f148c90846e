"""`seamline doctor`: is this Postgres (Supabase or not) ready for Seamline's loads, and safe?

Each check is one line, ok / warn / FAIL, with a one-line fix. The URL is only ever shown masked.
"""

from __future__ import annotations

from dataclasses import dataclass

from seamline import settings
from seamline.database import Database
from seamline.errors import DatabaseUnavailable
from seamline.grants import API_ROLES

TRANSACTION_POOLER_PORT = 6543
MIN_STATEMENT_TIMEOUT_MS = 10 * 60 * 1000
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_SAFE_SSLMODES = ("require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn or FAIL
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}" + (f" (fix: {self.fix})" if self.fix else "")


def pooler_check(db: Database) -> Check:
    """Supabase's transaction pooler drops session state (advisory locks, SET, prepared
    statements) between statements: dlt's and dbt's sessions break on it."""
    if db.port == TRANSACTION_POOLER_PORT:
        where = "Supabase's transaction pooler" if "pooler.supabase.com" in db.host else "a transaction pooler"
        return Check("pooler", "FAIL", f"port {TRANSACTION_POOLER_PORT} is {where}, which breaks session "
                     "settings and locks; refused",
                     "use the session pooler (same host, port 5432) or the direct connection")
    return Check("pooler", "ok", f"port {db.port} (not the transaction pooler)")


def sslmode_check(db: Database) -> Check:
    if db.host.startswith("/") or db.host in _LOCAL_HOSTS:
        return Check("sslmode", "ok", f"local connection ({'socket' if db.host.startswith('/') else db.host})")
    if db.sslmode in _SAFE_SSLMODES:
        return Check("sslmode", "ok", f"sslmode={db.sslmode}")
    return Check("sslmode", "warn", f"sslmode={db.sslmode or 'unset (prefer)'} to a remote host may fall back "
                 "to an unencrypted connection", "add ?sslmode=require to DATABASE_URL")


def run_checks(db: Database) -> list[Check]:
    """All checks; the pooler is judged from the URL alone, and refused before any connection."""
    checks = [pooler_check(db)]
    if checks[0].status == "FAIL":
        return checks
    try:
        conn = db.connect()
    except DatabaseUnavailable as exc:
        return [*checks, Check("connection", "FAIL", str(exc), "check DATABASE_URL, the password and the network")]
    checks.append(Check("connection", "ok", db.masked_url))
    checks.append(sslmode_check(db))
    try:
        with conn.cursor() as cur:
            checks.append(_statement_timeout(cur))
            checks.append(_data_api_schemas(cur))
            checks.append(_api_role_usage(cur))
    finally:
        conn.close()
    return checks


def _statement_timeout(cur) -> Check:
    cur.execute("select current_user, setting::bigint from pg_settings where name = 'statement_timeout'")
    user, timeout_ms = cur.fetchone()
    if timeout_ms == 0 or timeout_ms >= MIN_STATEMENT_TIMEOUT_MS:
        shown = "0 (none)" if timeout_ms == 0 else f"{timeout_ms // 1000} s"
        return Check("statement_timeout", "ok", shown)
    return Check("statement_timeout", "warn", f"{timeout_ms / 1000:g} s for {user}: a full load or dbt build "
                 "takes longer and would be cancelled", f"alter role {user} set statement_timeout = '30min'")


def _raw_and_ops() -> list[str]:
    return [*settings.raw_schemas(), settings.schema(settings.OPS)]


def _data_api_schemas(cur) -> Check:
    """PostgREST serves the schemas in `pgrst.db_schemas` (a setting of the `authenticator` role,
    or of the database); none of Seamline's raw or ops schemas may be among them."""
    cur.execute("select exists (select 1 from pg_roles where rolname = 'authenticator')")
    has_authenticator = cur.fetchone()[0]
    cur.execute("""
        select unnest(s.setconfig) from pg_db_role_setting s
        left join pg_roles r on r.oid = s.setrole
        where r.rolname = 'authenticator' or s.setrole = 0""")
    exposed: set[str] = set()
    for (item,) in cur.fetchall():
        key, _, value = item.partition("=")
        if key == "pgrst.db_schemas":
            exposed |= {name.strip().strip('"') for name in value.split(",")}
    if not has_authenticator and not exposed:
        return Check("data api", "ok", "no PostgREST (no authenticator role, no pgrst.db_schemas)")
    leaked = sorted(exposed & set(_raw_and_ops()))
    if leaked:
        return Check("data api", "FAIL", f"pgrst.db_schemas exposes {', '.join(leaked)}",
                     "remove them from Settings > API > Exposed schemas (pgrst.db_schemas)")
    if not exposed:
        # hosted Supabase keeps the list in its dashboard, out of the database's sight
        return Check("data api", "ok", "the exposed schemas are not set in the database (Supabase: Settings > API); "
                     "list no raw_ or ops schema there, and the anon/authenticated check below guards the rest")
    return Check("data api", "ok", f"exposed schemas: {', '.join(sorted(exposed))}; no raw or ops schema")


def _api_role_usage(cur) -> Check:
    cur.execute("select rolname from pg_roles where rolname = any(%s)", (list(API_ROLES),))
    roles = sorted(row[0] for row in cur.fetchall())
    if not roles:
        return Check("anon/authenticated", "ok", "roles absent (not Supabase)")
    cur.execute("""
        select r.rolname, n.nspname from pg_namespace n cross join pg_roles r
        where n.nspname = any(%s) and r.rolname = any(%s) and has_schema_privilege(r.oid, n.oid, 'usage')
        order by 1, 2""", (_raw_and_ops(), roles))
    found = [f"{role} on {schema}" for role, schema in cur.fetchall()]
    if found:
        return Check("anon/authenticated", "FAIL", f"USAGE granted: {', '.join(found)}",
                     "run `seamline db grant`")
    return Check("anon/authenticated", "ok", f"{', '.join(roles)}: no USAGE on raw or ops schemas")


def doctor(db: Database) -> tuple[list[str], int]:
    """The printed lines and the exit code: 1 on any FAIL."""
    checks = run_checks(db)
    return [c.line() for c in checks], 1 if any(c.status == "FAIL" for c in checks) else 0
