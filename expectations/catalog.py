"""Which of the tables the suites need exist right now (raw tables appear on the first load, marts
on the first dbt build), and which integrations have landed at all."""

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


def landed_integrations(db: Database, integrations: list[str] | tuple[str, ...]) -> list[str]:
    """The integrations whose raw dataset holds at least one completed dlt load: the same test that
    decides which sources dbt builds (flows.dbt.loaded_sources), so quality and models agree."""
    from flows.dbt import loaded_sources

    landed = set(loaded_sources(db))
    return [i for i in integrations if i in landed]
