"""Raw bodies kept in ops (quarantined pages, webhook deliveries) that arrive after an erasure.

A sync only knows the erased people's hashes, so it pulls every email and phone-like string out of
each new body, hashes them like `identity` does, and overwrites a body that holds one. "New" is
past a high-water mark per table (`ops.erasure_watermarks`) on its bigint primary key, so each
body is read once. (A row whose id was taken before the mark but committed after it is missed:
the writers here insert in one short autocommit statement.)
"""

from __future__ import annotations

from seamline.ops import ops_schema
from seamline.privacy.catalog import Table, quote
from seamline.privacy.identity import PHONE_DIGITS, Identity
from seamline.privacy.scrub import Counts, add_count

_EMAILS = r"[a-z0-9._+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
_PHONES = r"\+?[0-9][0-9 ()-]{7,}[0-9]"
_REDACTED = "convert_to('[erased]', 'UTF8')"


def _primary_key(cur, table: Table) -> str | None:
    """The table's own bigint id, when its primary key is one."""
    cur.execute("""
        select a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_index as i
        inner join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = %s::regclass and i.indisprimary
    """, (table.qualified,))
    columns = cur.fetchall()
    return columns[0][0] if len(columns) == 1 and columns[0][1] == "bigint" else None


def payload_tables(cur, tables: list[Table]) -> list[tuple[Table, str]]:
    """Ops tables holding raw bytes (bytea), with their id column."""
    found = []
    for table in tables:
        if any(c.data_type == "bytea" for c in table.columns) and (key := _primary_key(cur, table)):
            found.append((table, key))
    return found


def mark_all_read(cur, payloads: list[tuple[Table, str]]) -> None:
    """An erase has read every body with the plain email: later syncs start after them."""
    for table, key in payloads:
        cur.execute(f"insert into {ops_schema()}.erasure_watermarks (table_name, last_id) "
                    f"select %s, coalesce(max({quote(key)}), 0) from {table.qualified} "
                    "on conflict (table_name) do update set last_id = greatest("
                    f"{ops_schema()}.erasure_watermarks.last_id, excluded.last_id)", (table.label, ))


def _hashes_in(body: str) -> str:
    """SQL: the sha256 of each email and each phone's last nine digits found in a text."""
    digits = "regexp_replace(p.m[1], '[^0-9]', '', 'g')"
    return (f"select encode(sha256(convert_to(e.m[1], 'UTF8')), 'hex') as h "
            f"from regexp_matches({body}, '{_EMAILS}', 'g') as e (m) "
            f"union all select encode(sha256(convert_to(right({digits}, {PHONE_DIGITS}), 'UTF8')), 'hex') "
            f"from regexp_matches({body}, '{_PHONES}', 'g') as p (m) where length({digits}) >= {PHONE_DIGITS}")


def redact_new(cur, payloads: list[tuple[Table, str]], identity: Identity, counts: Counts) -> None:
    hashes = sorted(identity.emails | identity.phones)
    for table, key in payloads:
        cur.execute(f"select last_id from {ops_schema()}.erasure_watermarks where table_name = %s", (table.label,))
        row = cur.fetchone()
        last = row[0] if row else 0
        cur.execute(f"select coalesce(max({quote(key)}), %s) from {table.qualified}", (last,))
        newest = cur.fetchone()[0]
        if newest <= last:
            continue
        sets, hits = [], []
        for column in (c for c in table.columns if c.data_type == "bytea"):
            name = quote(column.name)
            text = f"lower(encode({name}, 'escape'))"
            hit = f"exists (select 1 from ({_hashes_in(text)}) as found where found.h = any(%(hashes)s))"
            sets.append(f"{name} = case when {hit} then {_REDACTED} else {name} end")
            hits.append(hit)
        cur.execute(f"update {table.qualified} set {', '.join(sets)} "
                    f"where {quote(key)} > %(last)s and {quote(key)} <= %(newest)s and ({' or '.join(hits)})",
                    {"hashes": hashes, "last": last, "newest": newest})
        add_count(counts, table, "redacted", cur.rowcount)
        cur.execute(f"insert into {ops_schema()}.erasure_watermarks (table_name, last_id) values (%s, %s) "
                    "on conflict (table_name) do update set last_id = excluded.last_id", (table.label, newest))
