"""The mappings page's data: each mapping seed as loaded by the last build, and the source values
no seed maps right now (int_unmapped_values, a view over staging, so it is current)."""

from __future__ import annotations

from seamline import settings
from seamline.database import Database


def seed_names() -> list[str]:
    return sorted(path.stem for path in settings.seeds_dir().glob("*.csv"))


def seeds(db: Database) -> list[dict]:
    """Every seed: its file, its columns and rows as the database holds them (None: not loaded yet)."""
    schema = settings.schema("mappings")
    out = []
    with db.cursor() as cur:
        for name in seed_names():
            cur.execute("select to_regclass(%s) is not null", (f'"{schema}"."{name}"',))
            columns, rows = [], None
            if cur.fetchone()[0]:
                cur.execute(f'select * from "{schema}"."{name}" order by 1, 2')
                columns = [d.name for d in cur.description]
                rows = cur.fetchall()
            out.append({"name": name, "file": str((settings.seeds_dir() / f"{name}.csv").relative_to(settings.PROJECT_ROOT)), "columns": columns, "rows": rows})
    return out


def unmapped_values(db: Database) -> list[dict] | None:
    """Values present in the data that their mapping seed lacks, most frequent first; None when
    the model has not been built yet."""
    view = f'"{settings.schema("intermediate")}"."int_unmapped_values"'
    with db.cursor() as cur:
        cur.execute("select to_regclass(%s) is not null", (view,))
        if not cur.fetchone()[0]:
            return None
        cur.execute(f"""
            select mapping, source_system, source_value, occurrences, example_record
            from {view}
            order by occurrences desc, mapping, source_system, source_value
        """)
        keys = ("mapping", "source_system", "source_value", "occurrences", "example_record")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
