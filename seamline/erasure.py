"""`seamline erase --email X [--dry-run]`: the right to be forgotten, and keeping it after syncs.

An erase, with every sync and dbt build of this tenant paused:
1. finds the person's rows in every raw dataset (`raw_<source>` and dlt's `raw_<source>_staging`)
   by email, then by the phones and vendor ids on those rows (seamline/privacy/scrub.py);
2. deletes person rows (customers, profiles, contacts, Klaviyo events...) and anonymises ledger
   rows (orders, sales, invoices, payments: person columns blanked, amounts kept); deletes every
   version of them in the dbt snapshots; overwrites values mentioning them in the ops tables
   (quarantined pages, webhook bodies...) and drops the conflict decisions made on them;
3. records the erasure in `ops.erasures` (no PII: the email's sha256, counts per table), all of
   the above in one transaction;
4. deletes the loaded dlt job files on disk (the rows as they were loaded), rebuilds the marts
   with a full refresh (`dbt build`), and checks that no table still mentions the email or phone.

After every successful load, `keep_out` applies every recorded erasure to that source again: the
vendors still hold the person, so the next sync brings them back into raw.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError
from seamline.ops import ensure_ops_schema, ops_schema
from seamline.privacy import payloads, store
from seamline.privacy.catalog import Table, load_tables
from seamline.privacy.identity import Identity
from seamline.privacy.scrub import Counts, Matcher, add_count, discover, find_mentions, redact_mentions, scrub

log = logging.getLogger(__name__)

# ops tables of the erasure itself: hashes only, nothing to redact
_OWN_TABLES = {"erasures", "erasure_identifiers", "erasure_watermarks"}


@dataclass
class ErasureReport:
    erasure_id: str
    email_sha256: str
    dry_run: bool
    counts: Counts = field(default_factory=dict)
    job_files_deleted: int = 0
    dbt_status: str = "not run"
    residue: list[str] = field(default_factory=list)  # tables still mentioning the person

    @property
    def ok(self) -> bool:
        return self.dry_run or (self.dbt_status in ("success", "skipped") and not self.residue)


def _datasets(source: str) -> tuple[str, str]:
    raw = settings.raw_schema(source)
    return raw, f"{raw}_staging"


@contextlib.contextmanager
def _writers_paused(db: Database):
    """No sync may write a raw dataset and no dbt build may run while the person is erased: a
    build reading the old raw rows would put them back into the marts and the snapshots."""
    from ingest.sync import dataset_lock  # ingest.sync calls keep_out: imported late

    wait = float(os.environ.get("SEAMLINE_ERASE_LOCK_WAIT", "300"))
    with contextlib.ExitStack() as stack:
        for source in settings.SOURCES:
            if not stack.enter_context(dataset_lock(db, source, wait)):
                raise SeamlineError(f"erase: a sync of {source} is still running after {wait:.0f} s; "
                                    "nothing was erased, try again")
        conn = db.connect()
        conn.autocommit = True
        stack.callback(conn.close)  # closing the session releases the lock
        with conn.cursor() as cur:  # the lock flows/dbt.py run_dbt takes for this prefix
            cur.execute("select pg_advisory_lock(hashtext(%s))", (settings.dbt_lock_key(),))
        yield


def _customer_keys(cur, identity: Identity) -> list[str]:
    """The person's golden customer keys (marts.dim_customers), on which operators decide conflicts."""
    marts = settings.schema("marts")
    tables = load_tables(cur, [marts])[marts]
    dim = next((t for t in tables if t.name == "dim_customers"), None)
    if dim is None:
        return []
    matcher = Matcher(identity, None, [dim], use_mentions=False)
    where = matcher.where(dim)
    if where is None:
        return []
    cur.execute(f"select customer_key from {dim.qualified} where {where}", matcher.params)
    return [row[0] for row in cur.fetchall()]


def _drop_decisions(cur, ops_tables: list[Table], customer_keys: list[str], counts: Counts) -> None:
    decisions = next((t for t in ops_tables if t.name == "conflict_decisions"), None)
    if decisions is None or not customer_keys:
        return
    cur.execute(f"delete from {decisions.qualified} where entity = 'customer' and entity_key = any(%s)",
                (customer_keys,))
    add_count(counts, decisions, "deleted", cur.rowcount)


def _request_full_refresh(cur, sources: list[str]) -> None:
    """Rows of loads dbt already transformed changed: incremental models must rebuild (flows/dbt.py)."""
    for source in sources:
        cur.execute(f"insert into {ops_schema()}.refresh_pending (source) values (%s) "
                    "on conflict (source) do update set requested_at = now()", (source,))


def _discover_all(cur, raw: dict[str, list[Table]], identity: Identity, sources) -> None:
    """Phones and ids found on one record find the next (a shop customer with no email but the
    phone of a web order): repeat until nothing new turns up."""
    for _ in range(5):
        size = identity.size()
        for source in sources:
            for schema in _datasets(source):
                discover(cur, raw[schema], source, identity)
        if identity.size() == size:
            return


def delete_loaded_job_files(db: Database) -> int:
    """dlt keeps each loaded package's job files (the rows as loaded) under the pipelines folder
    unless `LOAD__DELETE_COMPLETED_JOBS` is set; an erasure removes those already there."""
    from ingest.pipeline import pipelines_dir

    removed = 0
    root = Path(pipelines_dir(db))
    for pattern in ("*/load/loaded/*/completed_jobs/*", "*/load/loaded/*/failed_jobs/*"):
        for path in root.glob(pattern):
            if path.is_file():
                path.unlink()
                removed += 1
    return removed


def _ops_tables(cur) -> list[Table]:
    return [t for t in load_tables(cur, [ops_schema()])[ops_schema()] if t.name not in _OWN_TABLES]


def _erase_rows(cur, identity: Identity, counts: Counts) -> list[str]:
    """Raw and staging datasets, snapshots, ops; returns the sources whose transformed rows changed."""
    raw = load_tables(cur, settings.raw_schemas())
    _discover_all(cur, raw, identity, settings.SOURCES)
    customer_keys = _customer_keys(cur, identity)
    stale = []
    for source in settings.SOURCES:
        raw_schema, staging_schema = _datasets(source)
        if scrub(cur, raw[raw_schema], source, identity, counts):
            stale.append(source)
        scrub(cur, raw[staging_schema], source, identity, counts)
    snapshots = settings.schema("snapshots")
    scrub(cur, load_tables(cur, [snapshots])[snapshots], None, identity, counts)
    ops_tables = _ops_tables(cur)
    _drop_decisions(cur, ops_tables, customer_keys, counts)
    redact_mentions(cur, ops_tables, identity, counts)
    payloads.mark_all_read(cur, payloads.payload_tables(cur, ops_tables))
    return stale


def erase(db: Database, email: str, *, dry_run: bool = False) -> ErasureReport:
    identity = Identity.for_email(email)
    report = ErasureReport(uuid.uuid4().hex, next(iter(identity.emails)), dry_run)
    if not dry_run:
        ensure_ops_schema(db)  # ops.refresh_pending
    with _writers_paused(db):
        with db.cursor(autocommit=False) as cur:  # one transaction: all of it or nothing
            store.ensure_tables(cur)
            stale = _erase_rows(cur, identity, report.counts)
            if dry_run:
                cur.connection.rollback()
                return report
            _request_full_refresh(cur, stale)
            store.record(cur, report.erasure_id, identity, report.counts)
        report.job_files_deleted = delete_loaded_job_files(db)
    report.dbt_status = _rebuild(db)
    store.set_dbt_status(db, report.erasure_id, report.dbt_status)
    with db.cursor() as cur:
        tables = load_tables(cur, settings.all_schemas())
        report.residue = find_mentions(cur, [t for ts in tables.values() for t in ts], identity)
    return report


def _rebuild(db: Database) -> str:
    """Rebuild staging, intermediate, marts (a full refresh, requested above) without the person."""
    from flows.dbt import loaded_sources, run_dbt

    if "woocommerce" not in loaded_sources(db):
        return "skipped"  # nothing was ever transformed
    try:
        result = run_dbt(db, "build")
    except SeamlineError as exc:
        log.warning("erase: %s", exc)
        return "failed"
    if not result.success:
        log.warning("erase: dbt build failed on %d node(s)", len(result.failures))
    return "success" if result.success else "failed"


def keep_out(db: Database, source: str, load_ids: list[str]) -> Counts:
    """Apply every recorded erasure to a source's raw dataset again, right after a load and before
    dbt runs. Nobody ever erased: one query, nothing else."""
    identity = store.load(db)
    if identity.empty:
        return {}
    known = set(identity.rows())
    counts: Counts = {}
    with db.cursor(autocommit=False) as cur:
        tables = load_tables(cur, list(_datasets(source)))
        _discover_all(cur, tables, identity, [source])
        raw_schema, staging_schema = _datasets(source)
        touched = scrub(cur, tables[raw_schema], source, identity, counts)
        scrub(cur, tables[staging_schema], source, identity, counts)
        payloads.redact_new(cur, payloads.payload_tables(cur, _ops_tables(cur)), identity, counts)
        found = [row for row in identity.rows() if row not in known]
        if found:  # a record of theirs new at the vendor (a second shop account): its id too
            store.save_identifiers(cur, Identity.from_rows(found), None)
        if touched - set(load_ids):
            _request_full_refresh(cur, [source])
    if counts:
        log.info("%s: kept erased people out: %s", source,
                 ", ".join(f"{table} {n}" for table, actions in sorted(counts.items()) for n in actions.values()))
    return counts


def keep_out_after_failure(db: Database, source: str) -> None:
    """A failed sync may still have loaded some of its packages (dlt commits per table): apply
    the erasures anyway, so a build of the other sources cannot pick the person up. Never raises:
    the sync's own failure is the one to report."""
    try:
        keep_out(db, source, [])
    except Exception as exc:  # the database may be what failed the sync
        log.warning("%s: erasures could not be re-applied after the failed sync (%s); the next "
                    "successful sync applies them", source, type(exc).__name__)


def erase_cli(db: Database, email: str, *, dry_run: bool = False) -> int:
    """The CLI: counts per table, the erasure id and the hash's prefix; never the email itself."""
    report = erase(db, email, dry_run=dry_run)
    head = "dry run, nothing changed" if dry_run else f"erasure {report.erasure_id[:12]}"
    print(f"{head} (email sha256 {report.email_sha256[:12]}...)")
    if not report.counts:
        print("  no rows found" + ("" if dry_run else "; recorded, so later syncs keep the person out"))
    for table, actions in sorted(report.counts.items()):
        done = ", ".join(f"{('would be ' if dry_run else '') + action} {rows}" for action, rows in sorted(actions.items()))
        print(f"  {table:<60} {done}")
    if dry_run:
        return 0
    print(f"  loaded dlt job files deleted: {report.job_files_deleted}")
    print(f"  dbt build: {report.dbt_status}")
    if report.residue:
        print(f"seamline: erase: still mentioned in {', '.join(report.residue)}", file=sys.stderr)
    elif report.dbt_status == "failed":
        print("seamline: erase: the marts still hold the person until a dbt build succeeds "
              "(`seamline transform`)", file=sys.stderr)
    return 0 if report.ok else 1

