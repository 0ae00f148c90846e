"""The courier app's delivery updates, from its JSON endpoint or a CSV drop folder, landed in
`ops.delivery_updates` (one row per order, status and time; a repeat is ignored).

- Endpoint: `GET <SOURCES__DELIVERY__BASE_URL>/deliveries?updated_after=<iso>` with the bearer
  token SOURCES__DELIVERY__API_TOKEN -> `{"deliveries": [{order_number, status, tracking_number,
  carrier, updated_at}]}`. The cursor is the newest updated_at landed from it.
- Drop folder SOURCES__DELIVERY__DROP_DIR: `*.csv` files with the same columns. Each file is read
  whole, its good rows landed, then moved to `processed/`; its bad rows go to
  `processed/<name>.rejected.csv` with a `reason` column. Nothing is lost: a file is only moved
  after its rows are in the database.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest.http import HttpClient
from seamline.database import Database
from seamline.ops import apply_ops_ddl, ops_schema

STATUSES = ("in_transit", "delivered", "failed")
COLUMNS = ("order_number", "status", "tracking_number", "carrier", "updated_at")

_DDL = """
create schema if not exists {ops};
create table if not exists {ops}.delivery_updates (
    order_number    text        not null,
    status          text        not null,
    tracking_number text,
    carrier         text,
    updated_at      timestamptz not null,
    feed            text        not null,
    received_at     timestamptz not null default now(),
    primary key (order_number, status, updated_at)
);
"""


@dataclass
class Update:
    order_number: str
    status: str
    tracking_number: str | None
    carrier: str | None
    updated_at: datetime


def parse(record: dict) -> Update:
    """One update, or ValueError saying what is wrong with it."""
    number = str(record.get("order_number") or "").strip()
    if not number:
        raise ValueError("order_number is empty")
    status = str(record.get("status") or "").strip().lower()
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    raw = str(record.get("updated_at") or "").strip()
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_at {raw!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return Update(number, status, (str(record.get("tracking_number") or "").strip() or None),
                  (str(record.get("carrier") or "").strip() or None), when)


def ensure_table(db: Database) -> None:
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


def table_exists(db: Database) -> bool:
    with db.cursor() as cur:
        cur.execute("select to_regclass(%s)", (f'"{ops_schema()}".delivery_updates',))
        return cur.fetchone()[0] is not None


def land(db: Database, updates: list[Update], feed: str) -> int:
    ensure_table(db)
    landed = 0
    with db.cursor(autocommit=False) as cur:
        for u in updates:
            cur.execute(f"insert into {ops_schema()}.delivery_updates (order_number, status, tracking_number, "
                        "carrier, updated_at, feed) values (%s, %s, %s, %s, %s, %s) on conflict do nothing",
                        (u.order_number, u.status, u.tracking_number, u.carrier, u.updated_at, feed))
            landed += cur.rowcount
    return landed


def api_cursor(db: Database) -> datetime | None:
    if not table_exists(db):
        return None
    with db.cursor() as cur:
        cur.execute(f"select max(updated_at) from {ops_schema()}.delivery_updates where feed = 'api'")
        return cur.fetchone()[0]


def fetch_api(base_url: str, token: str, since: datetime | None) -> list[Update]:
    """Everything updated after `since` (inclusive: a repeat is ignored on landing)."""
    client = HttpClient("delivery", secrets=(token,))
    # the bound is exclusive and times are to the second: a second back, repeats ignored on landing
    params = {"updated_after": (since - timedelta(seconds=1)).isoformat()} if since else {}
    body, _ = client.get_json(f"{base_url.rstrip('/')}/deliveries", resource="deliveries", params=params,
                              headers={"Authorization": f"Bearer {token}"}, validate=_envelope)
    updates = []
    for record in body["deliveries"]:
        try:
            updates.append(parse(record))
        except ValueError:
            continue  # the endpoint's own data error: not ours to keep, and logged nowhere with PII
    return updates


def _envelope(body) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("deliveries"), list):
        return "expected an object with a `deliveries` array"
    return None


def read_drop_folder(folder: Path) -> list[tuple[Path, list[Update], list[tuple[dict, str]]]]:
    """Each CSV file's good updates and bad rows (with the reason), oldest file first."""
    out = []
    for path in sorted(folder.glob("*.csv"), key=lambda p: (p.stat().st_mtime, p.name)):
        good, bad = [], []
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("order_number", "status", "updated_at") if c not in (reader.fieldnames or [])]
            for record in reader:
                if missing:
                    bad.append((record, f"the file has no {', '.join(missing)} column"))
                    continue
                try:
                    good.append(parse(record))
                except ValueError as exc:
                    bad.append((record, str(exc)))
        out.append((path, good, bad))
    return out


def file_away(path: Path, bad: list[tuple[dict, str]]) -> None:
    """Move a read file to processed/, its bad rows beside it in `<name>.rejected.csv`."""
    done = path.parent / "processed"
    done.mkdir(exist_ok=True)
    if bad:
        with (done / f"{path.stem}.rejected.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*COLUMNS, "reason"], extrasaction="ignore")
            writer.writeheader()
            for record, reason in bad:
                writer.writerow({**{c: record.get(c, "") for c in COLUMNS}, "reason": reason})
    shutil.move(str(path), str(done / path.name))


def collect(db: Database, *, dry_run: bool) -> list[Update]:
    """Read both feeds (whichever is configured). Landed, unless dry_run: then only returned."""
    from outbound.clients import setting

    found: list[Update] = []
    base_url = setting("delivery", "base_url", default="")
    if base_url:
        updates = fetch_api(base_url, setting("delivery", "api_token", secret=True), api_cursor(db))
        if not dry_run:
            land(db, updates, "api")
        found += updates
    folder = setting("delivery", "drop_dir", default="")
    if folder and Path(folder).is_dir():
        for path, good, bad in read_drop_folder(Path(folder)):
            if not dry_run:
                land(db, good, f"csv:{path.name}")
                file_away(path, bad)
            found += good
    return found

