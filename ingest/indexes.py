"""The indexes a merge needs, which dlt does not create on Postgres.

dlt merges a load by deleting the rows it replaces (root tables on their primary key, child
tables on `_dlt_root_id`) and `prune_replaced_children` deletes by `_dlt_root_id` too. Without
an index each of those is a scan of the whole table, so an incremental sync of 1 % of the
orders cost in proportion to all of them. Created after a load when missing: on a first or
full load the index is built once over the loaded rows instead of row by row during the COPY.
"""

from __future__ import annotations

import hashlib

from psycopg2 import sql

from seamline.database import Database

ROOT_ID = "_dlt_root_id"


def merge_keys(dlt_schema) -> dict[str, tuple[str, ...]]:
    """{table: columns to index} for the merged tables of a dlt schema."""
    wanted: dict[str, tuple[str, ...]] = {}
    for table in dlt_schema.data_tables():
        name, columns = table["name"], table.get("columns", {})
        if ROOT_ID in columns:
            wanted[name] = (ROOT_ID,)
        elif table.get("write_disposition") in ("merge", "append"):  # append: a first load (sync.first_loads)
            keys = tuple(column for column, hint in columns.items() if hint.get("primary_key"))
            if keys:
                wanted[name] = keys
    return wanted


def index_name(table: str, columns: tuple[str, ...]) -> str:
    name = f"{table}__{'_'.join(columns)}__merge"
    if len(name) > 63:  # Postgres truncates identifiers; keep names distinct
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[:50]}_{digest}"
    return name


def ensure_merge_indexes(db: Database, schema: str, dlt_schema) -> list[str]:
    """Create the missing merge indexes of `schema`'s tables; returns the names created."""
    wanted = merge_keys(dlt_schema)
    if not wanted:
        return []
    created = []
    with db.cursor() as cur:
        cur.execute("select tablename, indexname from pg_indexes where schemaname = %s", (schema,))
        existing = {index for _, index in cur.fetchall()}
        cur.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
        tables = {row[0] for row in cur.fetchall()}
        for table, columns in sorted(wanted.items()):
            name = index_name(table, columns)
            if table not in tables or name in existing:
                continue
            cur.execute(sql.SQL("create index if not exists {} on {}.{} ({})").format(
                sql.Identifier(name), sql.Identifier(schema), sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns))))
            created.append(name)
    return created
