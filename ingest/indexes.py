"""The indexes a merge needs, which dlt does not create on Postgres.

dlt merges a load by deleting the rows it replaces (root tables on their primary key, child
tables on `_dlt_root_id`) and `prune_replaced_children` deletes by `_dlt_root_id` too, for the
roots a load wrote (found by their `_dlt_load_id`). Without
an index each of those is a scan of the whole table, so an incremental sync of 1 % of the
orders cost in proportion to all of them. Created after a load when missing: on a first or
full load the index is built once over the loaded rows instead of row by row during the COPY.
"""

from __future__ import annotations

import hashlib

from psycopg2 import sql

from seamline.database import Database

ROOT_ID = "_dlt_root_id"
LOAD_ID = "_dlt_load_id"


def merge_keys(dlt_schema) -> list[tuple[str, tuple[str, ...]]]:
    """(table, columns to index) for the merged tables of a dlt schema: a root's primary key, a
    child's `_dlt_root_id`, and the `_dlt_load_id` of a root with children (the prune finds the
    roots a load wrote by it)."""
    wanted: list[tuple[str, tuple[str, ...]]] = []
    tables = dlt_schema.data_tables()
    parents = {table["name"].split("__")[0] for table in tables if ROOT_ID in table.get("columns", {})}
    for table in tables:
        name, columns = table["name"], table.get("columns", {})
        if ROOT_ID in columns:
            wanted.append((name, (ROOT_ID,)))
        elif table.get("write_disposition") in ("merge", "append"):  # append: a first load (sync.first_loads)
            keys = tuple(column for column, hint in columns.items() if hint.get("primary_key"))
            if keys:
                wanted.append((name, keys))
            if name in parents and LOAD_ID in columns:
                wanted.append((name, (LOAD_ID,)))
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
        for table, columns in sorted(wanted):
            name = index_name(table, columns)
            if table not in tables or name in existing:
                continue
            cur.execute(sql.SQL("create index if not exists {} on {}.{} ({})").format(
                sql.Identifier(name), sql.Identifier(schema), sql.Identifier(table),
                sql.SQL(", ").join(map(sql.Identifier, columns))))
            created.append(name)
    return created


def analyze_new_tables(db: Database, schema: str) -> list[str]:
    """ANALYZE the tables of `schema` Postgres holds no statistics for yet: those a first or full
    load just filled (Postgres' advice after a bulk load), before autovacuum comes round to them.
    Without statistics the next merge's delete plans a scan of the whole table instead of the
    index above. A small sample (statistics target 10) is plenty for that and costs about 10 ms a
    table; autovacuum takes its fuller sample later."""
    with db.cursor() as cur:
        cur.execute("select relname from pg_stat_user_tables where schemaname = %s "
                    "and last_analyze is null and last_autoanalyze is null", (schema,))
        tables = sorted(name for (name,) in cur.fetchall())
        if tables:
            cur.execute("set default_statistics_target = 10")  # this session only
        for table in tables:
            cur.execute(sql.SQL("analyze {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
    return tables
