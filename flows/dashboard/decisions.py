"""Operators' decisions on the review queue: the `ops.conflict_decisions` table, what a valid value
for each golden field is, and the queue as the review page shows it.

A decision is data, never an edit of a model: the survivorship (dbt_project/macros/resolve_fields.sql)
reads the table as its highest-priority rule on every build, so decisions survive full refreshes.
A decision records the newest source update the operator saw; a later, differing source value
outdates it and the conflict comes back to the queue.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from seamline import settings
from seamline.database import Database
from seamline.ops import apply_ops_ddl, ops_schema

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.conflict_decisions (
    decision_id      bigserial   primary key,
    entity           text        not null check (entity in ('customer', 'product')),
    entity_key       text        not null,
    field            text        not null,
    chosen_value     text        not null,
    chosen_source    text,
    note             text        not null default '',
    decided_by       text        not null,
    decided_at       timestamptz not null default now(),
    source_newest_at timestamptz not null,
    competing_values text        not null default ''
);
create index if not exists conflict_decisions_by_field
    on {ops}.conflict_decisions (entity, entity_key, field, decided_at desc);
"""

# the golden fields an operator can decide, per entity (as in seeds/survivorship_rules.csv)
FIELDS = {
    "customer": ("email", "phone", "first_name", "last_name", "address"),
    "product": ("name", "category", "unit", "unit_size", "is_taxable"),
}
BASE_UNITS = ("kg", "ea", "bunch", "l")  # when the unit_conversions seed has not been loaded
MAX_TEXT = 200
MAX_NOTE = 1000
MAX_NAME = 80
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidDecision(ValueError):
    """A value or form the field cannot take; the message says why, in words for the operator."""


def ensure_decisions_table(db: Database) -> None:
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


# -- what a field can hold ---------------------------------------------------------------

def phone_e164(text: str, country_code: str = "61") -> str | None:
    """As dbt's phone_e164 macro reads a number (AU national numbers by default), or None."""
    digits = re.sub(r"[^0-9]", "", text)
    if text.strip().startswith("+"):
        found = f"+{digits}"
    elif re.fullmatch(r"0[1-9][0-9]{8}", digits):
        found = f"+{country_code}{digits[1:]}"
    elif re.fullmatch(rf"{country_code}[1-9][0-9]{{8}}", digits):
        found = f"+{digits}"
    elif re.fullmatch(r"[1-9][0-9]{8}", digits):
        found = f"+{country_code}{digits}"
    else:
        return None
    return found if E164.fullmatch(found) else None


def _text(value: str, what: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise InvalidDecision(f"{what} cannot be empty")
    if len(value) > MAX_TEXT or CONTROL.search(value):
        raise InvalidDecision(f"{what} must be one line of at most {MAX_TEXT} characters")
    return value


def normalise_value(entity: str, field: str, raw: str, base_units: tuple[str, ...] = BASE_UNITS) -> str:
    """The value as the field's candidates hold it (a lower-case email, an E.164 phone, ...), or
    InvalidDecision saying why it cannot be one."""
    if field not in FIELDS.get(entity, ()):
        raise InvalidDecision(f"{entity}.{field} is not a field an operator can decide")
    raw = raw or ""
    if field == "email":
        email = raw.strip().lower()
        if len(email) > 254 or not EMAIL.fullmatch(email):
            raise InvalidDecision(f"{raw.strip()!r} is not an email address")
        return email
    if field == "phone":
        phone = phone_e164(raw)
        if phone is None:
            raise InvalidDecision(f"{raw.strip()!r} is not a phone number (try 0412 345 678 or +61 412 345 678)")
        return phone
    if field == "unit":
        unit = raw.strip().lower()
        if unit not in base_units:
            raise InvalidDecision(f"{raw.strip()!r} is not a base unit ({', '.join(base_units)})")
        return unit
    if field == "unit_size":
        try:
            size = Decimal(raw.strip())
        except InvalidOperation:
            raise InvalidDecision(f"{raw.strip()!r} is not a number") from None
        if not size.is_finite() or size <= 0 or size > 100000:
            raise InvalidDecision("a unit size must be a positive number")
        return format(size.normalize(), "f")  # as trim_scale() writes it: 0.25, 2
    if field == "is_taxable":
        flag = raw.strip().lower()
        if flag in ("true", "yes", "gst"):
            return "true"
        if flag in ("false", "no", "gst-free", "gst free"):
            return "false"
        raise InvalidDecision(f"{raw.strip()!r} is not true or false")
    return _text(raw, field.replace("_", " "))


@dataclass
class Choice:
    """What the operator submitted for one queue item."""

    choice: str  # one of the competing values, or "typed"
    typed: str
    decided_by: str
    note: str


def chosen_value(item: dict, choice: Choice, base_units: tuple[str, ...] = BASE_UNITS) -> tuple[str, str | None]:
    """(value, the source it came from or None when typed) for a queue item, or InvalidDecision."""
    if choice.choice == "typed":
        return normalise_value(item["entity"], item["field"], choice.typed, base_units), None
    for candidate in item["candidates"]:
        if candidate["value"] == choice.choice:
            return candidate["value"], candidate["source_system"]
    raise InvalidDecision("that value is not one of the competing values: pick one, or type a value")


def _operator(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidDecision("say who you are (your name) so the decision has an owner")
    if len(name) > MAX_NAME or CONTROL.search(name):
        raise InvalidDecision(f"a name has at most {MAX_NAME} characters")
    return name


def record_decision(db: Database, item: dict, choice: Choice, base_units: tuple[str, ...] = BASE_UNITS) -> int:
    """Validate and write one decision; its id. Nothing is written when anything is invalid."""
    value, source = chosen_value(item, choice, base_units)
    decided_by = _operator(choice.decided_by)
    note = (choice.note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidDecision(f"a note has at most {MAX_NOTE} characters")
    ensure_decisions_table(db)
    with db.cursor() as cur:
        cur.execute(f"""
            insert into {ops_schema()}.conflict_decisions (entity, entity_key, field, chosen_value, chosen_source,
                note, decided_by, source_newest_at, competing_values)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            returning decision_id
        """, (item["entity"], item["entity_key"], item["field"], value, source, note, decided_by,
              item["newest_source_at"], item["competing_values"] or ""))
        return cur.fetchone()[0]


# -- reading the queue ------------------------------------------------------------------

def _exists(cur, schema: str, table: str) -> bool:
    cur.execute("select to_regclass(%s) is not null", (f'"{schema}"."{table}"',))
    return cur.fetchone()[0]


def _has_column(cur, schema: str, table: str, column: str) -> bool:
    cur.execute("select exists (select 1 from information_schema.columns where table_schema = %s "
                "and table_name = %s and column_name = %s)", (schema, table, column))
    return cur.fetchone()[0]


def base_units(db: Database) -> tuple[str, ...]:
    """The base units the unit_conversions seed knows (the fixed list before any build)."""
    mappings = settings.schema("mappings")
    with db.cursor() as cur:
        if not _exists(cur, mappings, "unit_conversions"):
            return BASE_UNITS
        cur.execute(f'select distinct lower(base_unit) from "{mappings}".unit_conversions order by 1')
        return tuple(row[0] for row in cur.fetchall()) or BASE_UNITS


_QUEUE_COLUMNS = ("review_key", "entity", "entity_key", "field", "review_reason", "provisional_value",
                  "provisional_source", "competing_values", "candidates", "distinct_values", "newest_source_at",
                  "outdated_decision_id", "outdated_decided_value", "outdated_decided_by", "outdated_decided_at")


def open_conflicts(db: Database, review_key: str | None = None, limit: int = 200) -> list[dict] | None:
    """The open review-queue items (or the one with `review_key`), each with the record's label
    and any decision made since the last build; None when there is no queue yet (no build)."""
    marts = settings.schema("marts")
    with db.cursor() as cur:
        if not _exists(cur, marts, "review_queue") or not _has_column(cur, marts, "review_queue", "candidates"):
            return None
        decisions = _exists(cur, ops_schema(), "conflict_decisions")
        pending = f"""
            left join lateral (
                select d.decision_id, d.chosen_value, d.decided_by, d.decided_at
                from {ops_schema()}.conflict_decisions as d
                where d.entity = q.entity and d.entity_key = q.entity_key and d.field = q.field
                    and d.decision_id > coalesce(q.outdated_decision_id, 0)
                order by d.decision_id desc limit 1
            ) as pending on true""" if decisions else ""
        pending_columns = ("pending.decision_id, pending.chosen_value, pending.decided_by, pending.decided_at"
                           if decisions else "null, null, null, null")
        labels = []
        if _exists(cur, marts, "dim_customers"):
            labels.append(f"(select c.email from {marts}.dim_customers as c where q.entity = 'customer' "
                          "and c.customer_key = q.entity_key)")
        if _exists(cur, marts, "dim_products"):
            labels.append(f"(select p.sku || ' ' || coalesce(p.product_name, '') from {marts}.dim_products as p "
                          "where q.entity = 'product' and p.product_key = q.entity_key)")
        label = f"coalesce({', '.join(labels)})" if labels else "null"
        cur.execute(f"""
            select {', '.join('q.' + c for c in _QUEUE_COLUMNS)}, {label}, {pending_columns}
            from {marts}.review_queue as q {pending}
            where %(key)s is null or q.review_key = %(key)s
            order by q.entity, q.field, q.entity_key
            limit %(limit)s
        """, {"key": review_key, "limit": limit})
        items = []
        for row in cur.fetchall():
            item = dict(zip(_QUEUE_COLUMNS, row[:len(_QUEUE_COLUMNS)], strict=True))
            item["label"] = row[len(_QUEUE_COLUMNS)]
            pending_id, pending_value, pending_by, pending_at = row[len(_QUEUE_COLUMNS) + 1:]
            item["pending"] = ({"decision_id": pending_id, "value": pending_value, "decided_by": pending_by,
                                "decided_at": pending_at} if pending_id is not None else None)
            item["candidates"] = _candidates(item["candidates"])
            item["choices"] = _distinct_choices(item["candidates"])
            items.append(item)
        return items


def _candidates(raw) -> list[dict]:
    candidates = raw if isinstance(raw, list) else json.loads(raw or "[]")
    for candidate in candidates:
        candidate["updated_at"] = datetime.fromisoformat(candidate["updated_at"])
    return candidates


def _distinct_choices(candidates: list[dict]) -> list[dict]:
    """One radio button per distinct value, naming every source that holds it."""
    choices: dict[str, dict] = {}
    for candidate in candidates:
        choice = choices.setdefault(candidate["value"], {"value": candidate["value"], "sources": []})
        if candidate["source_system"] not in choice["sources"]:
            choice["sources"].append(candidate["source_system"])
    return list(choices.values())


def recent_decisions(db: Database, limit: int = 20) -> list[dict]:
    """The newest decisions and how each stands after the last build (golden_field_audit)."""
    marts = settings.schema("marts")
    with db.cursor() as cur:
        if not _exists(cur, ops_schema(), "conflict_decisions"):
            return []
        audit = _exists(cur, marts, "golden_field_audit") and _has_column(
            cur, marts, "golden_field_audit", "decision_status")
        standing = """
            case
                when a.decision_id = d.decision_id then a.decision_status
                when a.decision_id > d.decision_id then 'superseded'
                else 'waiting for the next transform'
            end, a.golden_value""" if audit else "'waiting for the next transform', null"
        join = (f"left join {marts}.golden_field_audit as a on a.entity = d.entity "
                "and a.entity_key = d.entity_key and a.field = d.field") if audit else ""
        cur.execute(f"""
            select d.decision_id, d.entity, d.entity_key, d.field, d.chosen_value, d.chosen_source, d.note,
                   d.decided_by, d.decided_at, {standing}
            from {ops_schema()}.conflict_decisions as d {join}
            order by d.decision_id desc limit %s
        """, (limit,))
        keys = ("decision_id", "entity", "entity_key", "field", "chosen_value", "chosen_source", "note",
                "decided_by", "decided_at", "status", "golden_value")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
