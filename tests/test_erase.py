"""`seamline erase --email X`: a real person of the sandbox world (web customer with orders, a
Klaviyo profile with a phone, a Xero contact, a Lightspeed customer) is synced from the sandbox
APIs, transformed by dbt, erased through the CLI, and searched for in every text, JSON and bytea
column of every table and view of the database; then the world moves on, the vendors serve the
person again, and a second sync and build must still leave no trace while the order amounts stay
whole. One world, under a schema prefix of its own."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from contextlib import redirect_stdout
from decimal import Decimal

import pytest
from conftest import rows, scalar, serve_world, timed

from sandbox.people import apply_phone_variant
from sandbox.world import DEFAULT_START, World

PREFIX = "erase_"
SOURCES = ["woocommerce", "klaviyo", "xero", "lightspeed", "finale"]
TIMINGS: dict[str, float] = {}


def needles(person) -> list[str]:
    """The email and every way the sandbox writes the person's mobile (0412 345 678,
    +61 412 345 678, 0412345678, +61412345678), and its bare nine digits."""
    return [person.email, *(apply_phone_variant(code, person.mobile) for code in range(4)), person.mobile[3:]]


def mentions(db, words: list[str]) -> list[str]:
    """Every table of every schema (and this test's views: another test's may be built to fail on
    bad rows) whose text, JSON or bytea values contain any of the words (case-insensitive):
    "schema.table: word"."""
    columns: dict[tuple[str, str], list[str]] = {}
    for schema, table, column, data_type in rows(db, """
            select c.table_schema, c.table_name, c.column_name, c.data_type
            from information_schema.columns as c
            inner join information_schema.tables as t
                on t.table_schema = c.table_schema and t.table_name = c.table_name
            where (t.table_type = 'BASE TABLE' or (t.table_type = 'VIEW' and t.table_schema like %s))
                and c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea')
                and c.table_schema not in ('pg_catalog', 'information_schema')
                and c.table_schema not like 'pg\\_%%'
            """, PREFIX + "%"):
        quoted = f'"{column}"'
        columns.setdefault((schema, table), []).append(
            f"encode({quoted}, 'escape')" if data_type == "bytea" else f"{quoted}::text")
    found = []
    for (schema, table), exprs in sorted(columns.items()):
        haystack = f"lower(concat_ws(chr(1), {', '.join(exprs)}))"
        for (word,) in rows(db, f'select w from unnest(%s::text[]) as w where exists '
                                f'(select 1 from "{schema}"."{table}" where strpos({haystack}, w) > 0)',
                            [w.lower() for w in words]):
            found.append(f"{schema}.{table}: {word}")
    return found


def row_counts(db) -> dict[str, int]:
    counts = {}
    for schema, table in rows(db, "select table_schema, table_name from information_schema.tables "
                                  "where table_type = 'BASE TABLE' and table_schema like %s", PREFIX + "%"):
        counts[f"{schema}.{table}"] = scalar(db, f'select count(*) from "{schema}"."{table}"')
    return counts


def candidates(world: World):
    """People who shop online as registered customers, with a Klaviyo profile holding their phone,
    a Xero contact and a Lightspeed customer with an email."""
    registered = {c.person_id for c in world.woocommerce.customers.values()}
    buyers = {o.person.person_id for o in world.woocommerce.orders.values()}
    shop = {c.person_id for c in world.lightspeed.customers.values() if c.email}
    for person in world.people:
        pid = person.person_id
        profile = world.klaviyo.profiles.get(pid)
        if (pid in registered and pid in buyers and profile is not None and profile.phone
                and pid in world.xero.contacts and pid in shop):
            yield person


def web_orders_of(world: World, person) -> dict[int, Decimal]:
    totals = world.web_order_totals()
    return {o.id: totals[o.id] for o in world.woocommerce.orders.values() if o.person.person_id == person.person_id}


def erase_cli(*args: str) -> tuple[int, str]:
    from flows.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["erase", *args])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def synced(database):
    from flows.dbt import run_dbt
    from ingest.sync import sync_sources
    from seamline.ops import ensure_ops_schema

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_SCHEMA_PREFIX", PREFIX)
        with database.cursor() as cur:
            cur.execute("select nspname from pg_namespace where nspname like %s", (PREFIX + "%",))
            for (schema,) in cur.fetchall():
                cur.execute(f'drop schema "{schema}" cascade')
        ensure_ops_schema(database)
        world = World(seed=23, scale=200, start=DEFAULT_START)
        world.advance(12)
        # someone no other test's world left in this database, so "found nowhere" means erased
        person = next(p for p in candidates(world) if not mentions(database, needles(p)))
        with serve_world(world):
            for result in timed(TIMINGS, "sync", sync_sources, SOURCES, full_refresh=True, db=database):
                assert result.status == "success", (result.source, result.message)
            build = timed(TIMINGS, "dbt build", run_dbt, database, "build")
            assert build.success, build.failures
            evolve_schema(database, person)
            keep_raw_bodies(database, person, tag="before")
            state = {"world": world, "person": person, "erased": None}
            yield state
            print("\ntimings (s):", TIMINGS)


def evolve_schema(db, person) -> None:
    """A column no list names, as dlt adds one when a vendor's payload grows: a shop sale of
    someone else on which the counter typed the person's email."""
    with db.cursor() as cur:
        cur.execute(f"alter table {PREFIX}raw_lightspeed.sales add column receipt__contact_email text")
        cur.execute(f"update {PREFIX}raw_lightspeed.sales set receipt__contact_email = %s "
                    f"where id = (select min(id) from {PREFIX}raw_lightspeed.sales where customer_id is null)",
                    (f" {person.email.title()}",))
        assert cur.rowcount == 1


def customer_body(person, *, phone_code: int) -> bytes:
    """A vendor's JSON about the person, as a quarantined page or a webhook delivery carries it."""
    return json.dumps({"id": 4242, "email": f" {person.email.upper()}", "first_name": person.first_name,
                       "billing": {"phone": apply_phone_variant(phone_code, person.mobile)}}).encode()


def keep_raw_bodies(db, person, *, tag: str) -> None:
    """A page the sync quarantined and a webhook delivery, both mentioning the person."""
    from seamline.ops import quarantine
    from webhooks.store import ConnectionPool, ensure_tables, record
    from webhooks.vendors import Delivery

    quarantine(db, f"run-{tag}", "woocommerce", "customers", "http://127.0.0.1/wp-json/wc/v3/customers",
               "unreadable page", b"<html>" + customer_body(person, phone_code=1))
    ensure_tables(db)
    pool = ConnectionPool(db, size=1)
    record(pool, Delivery("woocommerce", f"customer-{tag}", "customer.updated", ["customer"]),
           customer_body(person, phone_code=2), {"X-WC-Webhook-Topic": "customer.updated"})
    pool.close()


def erased(db, synced) -> dict:
    """Run the erase once (through the CLI, with the email typed the way people type it)."""
    if synced["erased"] is None:
        revenue = f"select sum(order_total) from {PREFIX}marts.fct_orders"
        before = scalar(db, revenue)
        code, output = timed(TIMINGS, "erase", erase_cli, "--email", f"  {synced['person'].email.upper()} ")
        synced["erased"] = {"code": code, "output": output, "sum_before": before, "sum_after": scalar(db, revenue)}
    return synced["erased"]


def test_dry_run_changes_nothing(database, synced):
    person = synced["person"]
    before = row_counts(database)
    assert any(person.email in hit for hit in mentions(database, needles(person)))

    code, output = erase_cli("--email", person.email, "--dry-run")

    assert code == 0
    assert row_counts(database) == before
    assert scalar(database, "select to_regclass('erase_ops.erasures')") is None  # not even the table
    assert any(person.email in hit for hit in mentions(database, needles(person)))
    # it says what would change, per table, and never who
    assert "dry run, nothing changed" in output
    assert "erase_raw_woocommerce.customers" in output and "would be deleted 1" in output
    assert "erase_raw_klaviyo.profiles" in output and "erase_raw_woocommerce.orders" in output
    assert not any(word.lower() in output.lower() for word in needles(person))


def test_erase_leaves_no_trace(database, synced):
    person, world = synced["person"], synced["world"]
    assert mentions(database, needles(person))  # present before: in raw, staging, marts, snapshots

    result = erased(database, synced)

    assert result["code"] == 0, result["output"]
    assert mentions(database, needles(person)) == []
    output = result["output"]
    assert not any(word.lower() in output.lower() for word in needles(person))
    orders = web_orders_of(world, person)
    orders_line = next(line for line in output.splitlines() if "erase_raw_woocommerce.orders " in line)
    assert orders_line.endswith(f"anonymised {len(orders)}")
    assert "dbt build: success" in output
    # one erasure row, pseudonymous: the hash and the counts, nothing of the person
    (record,) = rows(database, "select erasure_id, email_sha256, counts, row_to_json(e)::text "
                               "from erase_ops.erasures as e")
    erasure_id, email_hash, counts, as_text = record
    assert erasure_id[:12] in output and email_hash[:12] in output
    assert email_hash == scalar(database, "select encode(sha256(convert_to(%s, 'UTF8')), 'hex')", person.email)
    assert not any(word.lower() in as_text.lower() for word in needles(person))
    assert counts["erase_raw_woocommerce.customers"] == {"deleted": 1}
    assert counts["erase_raw_klaviyo.profiles"] == {"deleted": 1}
    assert counts["erase_raw_xero.contacts"] == {"deleted": 1}
    assert counts["erase_raw_lightspeed.customers"]["deleted"] >= 1
    assert counts["erase_raw_woocommerce.orders"] == {"anonymised": len(orders)}
    assert counts["erase_snapshots.snap_dim_customers"]["deleted"] >= 1
    assert counts["erase_raw_lightspeed.sales"] == {"anonymised": 1}  # the evolved column, by its name
    assert counts["erase_ops.quarantine"] == {"redacted": 1}
    assert counts["erase_ops.webhook_events"] == {"redacted": 1}
    # the orders stay, amounts whole, with nobody's email on them
    assert result["sum_after"] == result["sum_before"]
    kept = dict(rows(database, "select order_id, order_total from erase_marts.fct_orders "
                               "where order_key = any(%s) and customer_email is null",
                     [f"woocommerce:{oid}" for oid in orders]))
    assert {int(k): v for k, v in kept.items()} == orders


def test_person_stays_out_after_next_sync(database, synced, caplog, monkeypatch):
    from flows.dbt import run_dbt
    from ingest.sync import sync_sources

    # an account edit without an order reaches the sync with the customers' full scan: due at once here
    monkeypatch.setenv("SOURCES__WOOCOMMERCE__CUSTOMERS_FULL_SCAN_HOURS", "0")
    person, world = synced["person"], synced["world"]
    assert erased(database, synced)["code"] == 0
    with world.lock:
        world.advance(24)
        # the person edits their web account and their Klaviyo profile: incremental syncs bring both back
        now = world.clock.now().replace(microsecond=0)
        customer = next(c for c in world.woocommerce.customers.values() if c.person_id == person.person_id)
        customer.modified = now
        world.woocommerce.version += 1
        world.klaviyo.profiles[person.person_id].updated = now
        world.klaviyo.version += 1
    keep_raw_bodies(database, person, tag="after")  # the vendor still sends webhooks about them
    caplog.set_level(logging.INFO, logger="seamline.erasure")
    with serve_world(world):
        for result in timed(TIMINGS, "second sync", sync_sources, SOURCES, db=database):
            assert result.status == "success", (result.source, result.message)
    # the vendors served them again, and the sync took them out before dbt could see them
    kept_out = " ".join(r.getMessage() for r in caplog.records if r.name == "seamline.erasure")
    assert "erase_raw_woocommerce.customers" in kept_out and "erase_raw_klaviyo.profiles" in kept_out
    assert "erase_ops.webhook_events" in kept_out and "erase_ops.quarantine" in kept_out
    build = timed(TIMINGS, "second dbt build", run_dbt, database, "build")
    assert build.success, build.failures

    assert mentions(database, needles(person)) == []
    assert scalar(database, "select count(*) from erase_ops.erasures") == 1
    # every web order the store still has is there with its amount (the person's too, anonymised)
    truth = world.web_order_totals()
    marts = dict(rows(database, "select cast(order_id as bigint), order_total from erase_marts.fct_orders "
                                "where order_key = any(%s)", [f"woocommerce:{oid}" for oid in truth]))
    assert marts == truth
    orders = web_orders_of(world, person)
    kept = dict(rows(database, "select order_id, order_total from erase_marts.fct_orders "
                               "where order_key = any(%s) and customer_email is null",
                     [f"woocommerce:{oid}" for oid in orders]))
    assert {int(k): v for k, v in kept.items()} == orders


def test_erase_before_any_sync_records_and_bad_email_is_refused(database, monkeypatch, capsys):
    """Nothing landed yet: nothing to find, the erasure is still recorded (the vendors will send
    the person later); a value that is no email is refused with one line and changes nothing."""
    from flows.cli import main

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "erase_empty_")
    with database.cursor() as cur:
        cur.execute("drop schema if exists erase_empty_ops cascade")

    assert main(["erase", "--email", "not-an-address"]) == 1
    err = capsys.readouterr().err
    assert "not an email address" in err and "not-an-address" not in err
    assert scalar(database, "select to_regclass('erase_empty_ops.erasures')") is None

    assert main(["erase", "--email", "Nobody.Yet@Example.com", "--dry-run"]) == 0
    assert "no rows found" in capsys.readouterr().out
    assert scalar(database, "select to_regclass('erase_empty_ops.erasures')") is None

    assert main(["erase", "--email", "Nobody.Yet@Example.com"]) == 0
    out = capsys.readouterr().out
    assert "no rows found; recorded" in out and "dbt build: skipped" in out
    assert "nobody.yet" not in out.lower()
    assert rows(database, "select email_sha256, counts::text from erase_empty_ops.erasures") == [
        (hashlib.sha256(b"nobody.yet@example.com").hexdigest(), "{}")]


def test_person_columns_are_found_by_name():
    """The rule, on dlt's flattened names: new columns of the same kind are covered unlisted."""
    from seamline.privacy.catalog import Column, Table

    orders = Table("raw_woocommerce", "orders", [Column(name, "character varying") for name in (
        "billing__email", "billing__phone", "shipping__address_2", "billing__company", "customer_note",
        "customer_ip_address", "delivery__contact__name", "number", "status", "currency", "payment_method_title")]
        + [Column("total", "numeric"), Column("customer_id", "bigint")])
    assert [c.name for c in orders.email_columns] == ["billing__email"]
    assert [c.name for c in orders.phone_columns] == ["billing__phone"]
    assert [c.name for c in orders.personal_columns] == [
        "billing__email", "billing__phone", "shipping__address_2", "billing__company", "customer_note",
        "customer_ip_address", "delivery__contact__name"]
    assert orders.is_ledger and not orders.is_person_table
    contacts = Table("raw_xero", "contacts", [Column(n, "character varying") for n in ("contact_id", "name")])
    invoices = Table("raw_xero", "invoices", [Column(n, "character varying") for n in (
        "invoice_id", "contact__contact_id", "contact__name", "reference")])
    payments = Table("raw_xero", "payments", [Column("invoice__contact__contact_id", "character varying")])
    assert contacts.key_column == "contact_id" and [c.name for c in contacts.personal_columns] == ["name"]
    assert [c.name for c in invoices.references_to(contacts)] == ["contact__contact_id"]
    assert [c.name for c in payments.references_to(contacts)] == ["invoice__contact__contact_id"]
    assert [c.name for c in invoices.personal_columns] == ["contact__name"]
    products = Table("raw_woocommerce", "products", [Column("name", "character varying")])
    assert products.personal_columns == []  # a product's name is nobody's


def test_erase_names_the_tables_it_could_not_clean(database, monkeypatch, capsys):
    """A copy the erase does not own (an analyst's table in the marts schema, which dbt never
    rebuilds) is found by the closing search: exit code 1, the table named, the email not."""
    from flows.cli import main

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "erase_residue_")
    with database.cursor() as cur:
        cur.execute("drop schema if exists erase_residue_marts cascade")
        cur.execute("create schema erase_residue_marts")
        cur.execute("create table erase_residue_marts.call_list (who text, note jsonb)")
        cur.execute("insert into erase_residue_marts.call_list values "
                    "('someone else', '{\"email\": \"Kept.Copy@Example.com\"}')")

    assert main(["erase", "--email", "kept.copy@example.com"]) == 1
    captured = capsys.readouterr()
    assert "still mentioned in erase_residue_marts.call_list" in captured.err
    assert "kept.copy" not in (captured.out + captured.err).lower()
