"""`seamline db grant`: a tenant's isolation kept by Postgres roles, not by application code.

A tenant is a schema prefix (SEAMLINE_SCHEMA_PREFIX). Its schemas belong to a NOLOGIN owner role
`seamline_<tenant>`; a login role `seamline_<tenant>_analyst` may read its marts and nothing else;
`public`, and Supabase's `anon` and `authenticated`, may touch none of them. Every statement is
idempotent, so the command can be run again after each new source or dbt build.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from psycopg2 import sql

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError

# Supabase's Data API roles; a plain Postgres has neither
API_ROLES = ("anon", "authenticated")
_TENANT = re.compile(r"^[a-z0-9_]{1,40}$")


def tenant_name(prefix: str | None = None) -> str:
    """The tenant a schema prefix names: `shop_a_` -> `shop_a`; no prefix is `default`."""
    prefix = settings.schema_prefix() if prefix is None else prefix
    name = prefix.strip("_") or "default"
    if not _TENANT.match(name):
        raise SeamlineError(f"SEAMLINE_SCHEMA_PREFIX {prefix!r} cannot name a role: use lowercase letters, "
                            "digits and underscores")
    return name


def owner_role(tenant: str) -> str:
    return f"seamline_{tenant}"


def analyst_role(tenant: str) -> str:
    return f"seamline_{tenant}_analyst"


def hashed_role(tenant: str) -> str:
    """The analyst who needs no raw PII: marts columns not marked `pii` (dbt grants them each build)."""
    return f"seamline_{tenant}_hashed"


def current_hashed_role() -> str:
    """The hashed analyst role of the current prefix, or '' when the prefix cannot name a role."""
    try:
        return hashed_role(tenant_name())
    except SeamlineError:
        return ""


def password_from_env(var: str | None, flag: str = "--analyst-password-env") -> str | None:
    """A role's password from the named variable; named but unset is an error, never a guess."""
    if not var:
        return None
    value = os.environ.get(var, "")
    if not value:
        raise SeamlineError(f"{flag}: the environment variable {var} is not set")
    return value


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores (RFC 5803), computed here so the plain
    password never reaches the server, where a failed or logged statement would record it."""
    if not (password.isascii() and password.isprintable()):
        # the server would SASLprep other characters first; a mismatch would lock the analyst out
        raise SeamlineError("the analyst password must be printable ASCII")
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = [base64.b64encode(part).decode() for part in (salt, stored_key, server_key)]
    return f"SCRAM-SHA-256${iterations}:{b64[0]}${b64[1]}:{b64[2]}"


def grant_tenant(db: Database, analyst_password: str | None = None, owner_password: str | None = None,
                 hashed_password: str | None = None) -> list[str]:
    """Apply the current prefix's roles and privileges; one line per role and schema, no password.

    Loads and dbt then run as the owner role: as a session role of the admin login (the tenant's
    default), or as a login of its own when `owner_password` is given (a tenant DATABASE_URL)."""
    tenant = tenant_name()
    owner, analyst, hashed = owner_role(tenant), analyst_role(tenant), hashed_role(tenant)
    marts = settings.schema("marts")
    conn = db.connect()
    try:
        with conn, conn.cursor() as cur:  # one transaction: all of it or none of it
            lines = [_ensure_role(cur, owner, login=True if owner_password is not None else None),
                     _ensure_role(cur, analyst, login=True), _ensure_role(cur, hashed, login=True)]
            for i, (role, password) in enumerate(((owner, owner_password), (analyst, analyst_password),
                                                  (hashed, hashed_password))):
                if password is not None:
                    cur.execute(sql.SQL("alter role {} password %s").format(sql.Identifier(role)),
                                (scram_verifier(password),))
                    lines[i] += ", password set"
            cur.execute("select current_user")
            me = cur.fetchone()[0]
            # the connecting role (dbt, dlt) must stay able to create and alter in the owner's schemas
            cur.execute("select pg_has_role(current_user, %s, 'member')", (owner,))
            if not cur.fetchone()[0]:
                cur.execute(sql.SQL("grant {} to current_user").format(sql.Identifier(owner)))
            lines.extend(_own_schemas(cur, owner))
            api_roles = _existing(cur, API_ROLES)
            cur.execute("select nspname from pg_namespace where nspname = any(%s)", (settings.all_schemas(),))
            schemas = sorted(row[0] for row in cur.fetchall())
            if not schemas:
                lines.append(f"no Seamline schemas under prefix {settings.schema_prefix()!r} yet: "
                             "run this again after the first sync and dbt build")
            for schema in schemas:
                lines.append(_lock_down(cur, schema, owner, me, api_roles))
            if marts in schemas:
                _grant_reads(cur, marts, analyst, owner, me)
                lines.append(f"schema {marts}: {analyst} may read its tables, now and later")
                cur.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(marts), sql.Identifier(hashed)))
                lines.append(f"schema {marts}: {hashed} may read the columns not marked pii, granted by each "
                             "dbt build (run `seamline transform`)")
            lines.extend(_protect_public(cur, owner))
    finally:
        conn.close()
    skipped = [role for role in API_ROLES if role not in api_roles]
    if skipped:
        lines.append(f"roles {', '.join(skipped)}: absent (not Supabase), skipped")
    return lines


def _existing(cur, roles) -> list[str]:
    cur.execute("select rolname from pg_roles where rolname = any(%s)", (list(roles),))
    found = {row[0] for row in cur.fetchall()}
    return [role for role in roles if role in found]


def _ensure_role(cur, role: str, login: bool | None) -> str:
    """Create the role or set its login; `login=None` keeps an existing role's (new ones: nologin)."""
    cur.execute("select rolcanlogin from pg_roles where rolname = %s", (role,))
    row = cur.fetchone()
    if login is None:
        login = bool(row and row[0])
    kind = ("login, " if login else "nologin, ") + (
        "read-only" if role.endswith("_analyst") else "read-only, no PII" if role.endswith("_hashed") else "owner")
    if row is None:
        cur.execute(sql.SQL("create role {} " + ("login" if login else "nologin")).format(sql.Identifier(role)))
        return f"role {role}: created ({kind})"
    if row[0] != login:
        cur.execute(sql.SQL("alter role {} " + ("login" if login else "nologin")).format(sql.Identifier(role)))
        return f"role {role}: exists, set {kind}"
    return f"role {role}: exists ({kind})"


def _own_schemas(cur, owner: str) -> list[str]:
    """The tenant's schemas exist before its first load, owned by its role: no other tenant can take
    their names, and the role needs no more than CREATE on the database, which dlt's and dbt's
    `create schema if not exists` asks for even when the schema is there."""
    o = sql.Identifier(owner)
    cur.execute(sql.SQL("grant create on database {} to {}").format(
        sql.Identifier(cur.connection.info.dbname), o))
    wanted = [name for source in settings.enabled_sources()
              for name in (settings.raw_schema(source), f"{settings.raw_schema(source)}_staging")]
    wanted += [settings.schema(settings.OPS), *(settings.schema(name) for name in settings.DBT_SCHEMAS)]
    cur.execute("select nspname from pg_namespace where nspname = any(%s)", (wanted,))
    present = {row[0] for row in cur.fetchall()}
    missing = [name for name in wanted if name not in present]
    for name in missing:
        cur.execute(sql.SQL("create schema {} authorization {}").format(sql.Identifier(name), o))
    return [f"schemas created for {owner}: {', '.join(missing)}"] if missing else []


def _lock_down(cur, schema: str, owner: str, me: str, api_roles: list[str]) -> str:
    """The owner role owns the schema and what is in it; nobody else but the loader keeps a grant."""
    s = sql.Identifier(schema)
    cur.execute(sql.SQL("alter schema {} owner to {}").format(s, sql.Identifier(owner)))
    cur.execute("""
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
          and c.relowner <> (select oid from pg_roles where rolname = %s)
          -- a serial column's sequence follows its table
          and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                          and d.deptype in ('a', 'i') and c.relkind = 'S')""", (schema, owner))
    for (relation,) in cur.fetchall():
        # ALTER TABLE works for views, sequences and materialized views alike
        cur.execute(sql.SQL("alter table {}.{} owner to {}").format(s, sql.Identifier(relation), sql.Identifier(owner)))
    outsiders = sql.SQL(", ").join([sql.SQL("public"), *(sql.Identifier(r) for r in api_roles)])
    cur.execute(sql.SQL("revoke all on schema {} from {}").format(s, outsiders))
    for kind in ("tables", "sequences", "functions"):
        cur.execute(sql.SQL("revoke all on all {} in schema {} from {}").format(sql.SQL(kind), s, outsiders))
        # tables dbt and dlt create later, whichever of the two roles creates them
        cur.execute(sql.SQL("alter default privileges for role {}, {} in schema {} revoke all on {} from {}").format(
            sql.Identifier(owner), sql.Identifier(me), s, sql.SQL(kind), outsiders))
    return f"schema {schema}: owned by {owner}; nothing for {', '.join(['public', *api_roles])}"


def _grant_reads(cur, marts: str, analyst: str, owner: str, me: str) -> None:
    s, a = sql.Identifier(marts), sql.Identifier(analyst)
    cur.execute(sql.SQL("grant usage on schema {} to {}").format(s, a))
    cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, a))
    cur.execute(sql.SQL("alter default privileges for role {}, {} in schema {} grant select on tables to {}").format(
        sql.Identifier(owner), sql.Identifier(me), s, a))


def _protect_public(cur, owner: str) -> list[str]:
    """Seamline writes nothing to `public`; a table of this tenant found there (named with its
    prefix, or owned by its role) gets RLS with no policy, which the Data API cannot read through."""
    prefix = settings.schema_prefix()
    cur.execute("""
        select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relrowsecurity
          and (c.relowner = (select oid from pg_roles where rolname = %s) or (%s <> '' and starts_with(c.relname, %s)))
        """, (owner, prefix, prefix))
    lines = []
    for (table,) in cur.fetchall():
        cur.execute(sql.SQL("alter table public.{} enable row level security").format(sql.Identifier(table)))
        lines.append(f"table public.{table}: row level security enabled (no policy)")
    return lines
