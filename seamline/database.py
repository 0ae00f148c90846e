"""The one Postgres every stage uses: `DATABASE_URL`, or an embedded server under `.seamline/`.

dlt, dbt, GX and the ops tables all take their connection from `get_database()`,
each in the form it wants (dlt credentials, dbt env vars, a SQLAlchemy URL).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import psycopg2

from seamline import settings
from seamline.errors import DatabaseUnavailable
from seamline.masking import mask_text, mask_url

log = logging.getLogger(__name__)

# dlt refuses credentials without a password; under trust auth any placeholder works.
_PLACEHOLDER_PASSWORD = "seamline"


@dataclass(frozen=True)
class Database:
    url: str
    embedded: bool = False
    # the tenant's role every session runs as (SET ROLE at connection start); None: the login itself
    role: str | None = None

    @cached_property
    def _parts(self):
        return urlsplit(self.url)

    @cached_property
    def _query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self._parts.query).items()}

    @property
    def host(self) -> str:
        """A hostname, or the Unix-socket directory when the URL names one."""
        return self._query.get("host") or self._parts.hostname or "localhost"

    @property
    def port(self) -> int:
        return int(self._query.get("port") or self._parts.port or 5432)

    @property
    def user(self) -> str:
        return unquote(self._parts.username or "postgres")

    @property
    def password(self) -> str:
        return unquote(self._parts.password or "")

    @property
    def dbname(self) -> str:
        return self._parts.path.lstrip("/") or "postgres"

    @property
    def sslmode(self) -> str | None:
        return self._query.get("sslmode")

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def describe(self) -> str:
        """Where the data lives, safe to print."""
        kind = "embedded PostgreSQL" if self.embedded else "PostgreSQL"
        return f"{kind} at {self.host}:{self.port}/{self.dbname}" + (f" as role {self.role}" if self.role else "")

    @property
    def _role_option(self) -> str:
        # no space: libpq does not read '+' in a URL query as one
        return f"-crole={self.role}" if self.role else ""

    def _url_with(self, scheme: str, password: str) -> str:
        query = {k: v for k, v in self._query.items() if k not in ("host", "port")}
        if self.role:
            query["options"] = f"{query.get('options', '')} {self._role_option}".strip()
        if self.host.startswith("/"):
            # a socket directory goes in the query; libpq prefers it over the nominal
            # `localhost`, which dlt and GX insist on seeing
            query["host"] = self.host
            netloc_host = "localhost"
        else:
            netloc_host = f"{self.host}:{self.port}"
        netloc = f"{quote(self.user, safe='')}:{quote(password, safe='')}@{netloc_host}"
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{scheme}://{netloc}/{self.dbname}{suffix}"

    def dlt_credentials(self) -> str:
        return self._url_with("postgresql", self.password or _PLACEHOLDER_PASSWORD)

    def sqlalchemy_url(self) -> str:
        return self._url_with("postgresql+psycopg2", self.password or _PLACEHOLDER_PASSWORD)

    def dbt_env(self) -> dict[str, str]:
        """Environment variables read by dbt_project/profiles.yml."""
        return {
            "SEAMLINE_PG_HOST": self.host,
            "SEAMLINE_PG_PORT": str(self.port),
            "SEAMLINE_PG_USER": self.user,
            "SEAMLINE_PG_PASSWORD": self.password,
            "SEAMLINE_PG_DBNAME": self.dbname,
            "SEAMLINE_PG_SSLMODE": self.sslmode or "prefer",
            "SEAMLINE_PG_ROLE": self.role or "",
            "SEAMLINE_SCHEMA_PREFIX": settings.schema_prefix(),
        }

    def connect(self, timeout: int = 10):
        """A psycopg2 connection, or DatabaseUnavailable with one masked line saying why."""
        try:
            extra = {"options": self._role_option} if self.role else {}
            return psycopg2.connect(self.url, connect_timeout=timeout, application_name="seamline", **extra)
        except psycopg2.OperationalError as exc:
            reason = _first_line(str(exc))
            hint = ""
            if self.role and self.role in reason:
                hint = (f"; the tenant's role {self.role} is missing or not granted to {self.user}: "
                        "run `seamline --tenant <tenant> db grant` first")
            raise DatabaseUnavailable(
                f"cannot connect to the database at {self.host}:{self.port} "
                f"({self.masked_url}): {mask_text(reason, (self.password,))}{hint}"
            ) from None

    @contextlib.contextmanager
    def cursor(self, autocommit: bool = True) -> Iterator:
        conn = self.connect()
        conn.autocommit = autocommit
        try:
            with conn.cursor() as cur:
                yield cur
            if not autocommit:
                conn.commit()
        finally:
            conn.close()


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # libpq puts the useful part ("Connection refused", "password authentication failed") last
    useful = [line for line in lines if not line.startswith("Is the server running")]
    return useful[-1] if useful else "unknown error"


_database: Database | None = None


def get_database(check: bool = True, admin: bool = False) -> Database:
    """The configured database; with check, prove it answers before anyone relies on it.

    Under a tenant (seamline.tenants) sessions run as the tenant's role; `admin` is the login that
    creates roles and grants (`db grant`, `doctor`): DATABASE_URL, as given before a tenant's own."""
    global _database
    url = ((os.environ.get("SEAMLINE_ADMIN_DATABASE_URL") if admin else None)
           or os.environ.get("DATABASE_URL", "")).strip()
    role = None if admin else (os.environ.get("SEAMLINE_DB_ROLE") or None)
    if _database is not None and _database.role == role and (_database.embedded and not url or _database.url == url):
        return _database
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise DatabaseUnavailable(f"DATABASE_URL must be a postgresql:// URL, got {mask_url(url)}")
        db = Database(url.replace("postgres://", "postgresql://", 1), role=role)
    else:
        db = Database(start_embedded(), embedded=True, role=role)
    if check:
        db.connect().close()
    _database = db
    return db


def start_embedded(pgdata=None) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its socket URL."""
    pgdata = pgdata or settings.home() / "pgdata"
    os.environ.setdefault("XDG_RUNTIME_DIR", str(settings.home() / "run"))
    os.makedirs(os.environ["XDG_RUNTIME_DIR"], exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        try:
            # cleanup_mode=None: the server outlives this process and the next command reuses it
            server = pgserver.get_server(pgdata, cleanup_mode=None)
        except Exception as exc:  # pgserver raises bare subprocess errors
            raise DatabaseUnavailable(f"the embedded PostgreSQL in {pgdata} did not start: {exc}") from None
    return server.get_uri()


def stop_embedded(pgdata) -> None:
    """Stop an embedded server started with `start_embedded` (tests and `make clean`)."""
    import pgserver

    pgserver.get_server(pgdata, cleanup_mode=None)._cleanup()
