"""Where Xero's rotating refresh token lives: `ops.oauth_tokens`, guarded by an advisory lock.

Xero rotates the refresh token on every refresh and lets the old one live only for a grace
period, so the new one must be written down at once, before the new access token is used:
a process killed after the refresh but before the write would otherwise strand the
connection. One refresh at a time per connection (a Postgres advisory lock, across processes
and machines); whoever takes the lock re-reads the stored token first, since the previous
holder has just rotated it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError
from seamline.ops import apply_ops_ddl

_DDL = """
create schema if not exists {ops};
create table if not exists {ops}.oauth_tokens (
    source          text        not null,
    account         text        not null,
    refresh_token   text        not null,
    rotated_at      timestamptz not null default now(),
    primary key (source, account)
);
"""


class TokenLockTimeout(SeamlineError):
    """Another process held the refresh lock for too long."""


class TokenStore:
    """The stored refresh token of one OAuth connection (`account`: the app's client id)."""

    def __init__(self, db: Database, source: str, account: str):
        self.db = db
        self.source = source
        self.account = account
        self._ready = False

    @property
    def table(self) -> str:
        return f"{settings.schema(settings.OPS)}.oauth_tokens"

    def _ensure(self, cur) -> None:
        if not self._ready:
            apply_ops_ddl(cur, _DDL)
            self._ready = True

    def read(self) -> str | None:
        """The stored token, without taking the lock (for a look, not for a refresh)."""
        with self.db.cursor() as cur:
            self._ensure(cur)
            return self._read(cur)

    def _read(self, cur) -> str | None:
        cur.execute(f"select refresh_token from {self.table} where source = %s and account = %s",
                    (self.source, self.account))
        row = cur.fetchone()
        return row[0] if row else None

    @contextlib.contextmanager
    def locked(self, wait_seconds: float) -> Iterator[LockedTokens]:
        """Hold the connection's refresh lock; yields a handle to read and write the token."""
        conn = self.db.connect()
        conn.autocommit = True
        key = f"seamline.oauth.{settings.schema_prefix()}{self.source}.{self.account}"
        deadline = time.monotonic() + wait_seconds
        try:
            with conn.cursor() as cur:
                self._ensure(cur)
                while True:
                    cur.execute("select pg_try_advisory_lock(hashtext(%s))", (key,))
                    if cur.fetchone()[0]:
                        break
                    if time.monotonic() >= deadline:
                        raise TokenLockTimeout(f"{self.source}: another process has been refreshing the OAuth "
                                               f"token for over {wait_seconds:.0f}s; try again")
                    time.sleep(0.2)
                try:
                    yield LockedTokens(self, cur)
                finally:
                    cur.execute("select pg_advisory_unlock(hashtext(%s))", (key,))
        finally:
            conn.close()


class LockedTokens:
    def __init__(self, store: TokenStore, cur):
        self._store = store
        self._cur = cur

    def read(self) -> str | None:
        return self._store._read(self._cur)

    def write(self, refresh_token: str) -> None:
        """Store the rotated token (autocommit: durable when this returns)."""
        store = self._store
        self._cur.execute(
            f"insert into {store.table} (source, account, refresh_token, rotated_at) values (%s, %s, %s, now()) "
            "on conflict (source, account) do update set refresh_token = excluded.refresh_token, "
            "rotated_at = excluded.rotated_at",
            (store.source, store.account, refresh_token))
