"""Which of the tables the suites need exist right now (raw tables appear on the first load, marts
on the first dbt build); GX cannot even register an asset for a table that is not there."""

from __future__ import annotations

from seamline.database import Database


def existing_tables(db: Database, tables: set[tuple[str, str]]) -> set[tuple[str, str]]:
    if not tables:
        return set()
    with db.cursor() as cur:
        cur.execute(
            """
            select table_schema, table_name
            from information_schema.tables
            where (table_schema, table_name) in (select * from unnest(%s::text[], %s::text[]))
            """,
            ([s for s, _ in tables], [t for _, t in tables]),
        )
        return {(schema, table) for schema, table in cur.fetchall()}
