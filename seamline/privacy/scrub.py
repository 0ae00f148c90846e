"""Find an erased person's rows in one schema's tables and delete or anonymise them.

A row is the person's when (see `catalog` for which columns count as email and phone):
- an email column hashes to one of the person's email hashes;
- it has no email at all and a phone column hashes to one of their phone hashes (the rule the
  golden customer model uses: a record with no email joins the person carrying its phone);
- it is a person row (`customers`, `profiles`, `contacts`) whose vendor id is theirs, or another
  table's row pointing at such an id (`orders.customer_id`, `events.profile_id`,
  `invoices.contact__contact_id`);
- a child row (dlt's `<root>__<list>`) makes its root theirs by the same rules;
- during an erase only: any text, JSON or bytea column mentions their email or phone.
"""

from __future__ import annotations

from collections.abc import Iterable

from seamline.privacy.catalog import Column, Table, children_of, quote
from seamline.privacy.identity import Identity, email_hash_sql, key_hash_sql, phone_hash_sql

Counts = dict[str, dict[str, int]]  # "schema.table" -> {"deleted" | "anonymised" | "redacted": rows}

_REDACTED_TEXT = "[erased]"


def add_count(counts: Counts, table: Table, action: str, rows: int) -> None:
    if rows:
        entry = counts.setdefault(table.label, {})
        entry[action] = entry.get(action, 0) + rows


def _haystack(columns: Iterable[Column]) -> str | None:
    parts = [f"encode({quote(c.name)}, 'escape')" if c.data_type == "bytea" else f"{quote(c.name)}::text"
             for c in columns]
    return f"lower(concat_ws(chr(1), {', '.join(parts)}))" if parts else None


def _mentions(haystack: str) -> str:
    return f"exists (select 1 from unnest(%(mentions)s::text[]) as m (s) where strpos({haystack}, m.s) > 0)"


def _any(conds: list[str]) -> str | None:
    return " or ".join(f"({c})" for c in conds) if conds else None


class Matcher:
    """Builds the `where` clause that picks the person's rows of a table, and its parameters."""

    def __init__(self, identity: Identity, source: str | None, siblings: list[Table], *, use_mentions: bool):
        self.identity = identity
        self.source = source  # None outside the raw datasets: no vendor ids to follow there
        self.siblings = siblings
        self.use_mentions = use_mentions and bool(identity.mentions)
        self.params: dict = {"emails": sorted(identity.emails), "phones": sorted(identity.phones),
                             "mentions": sorted(identity.mentions)}

    def _key_param(self, person: Table) -> str | None:
        scope = f"{self.source}.{person.name}"
        hashes = self.identity.keys.get(scope)
        if not hashes:
            return None
        name = f"k_{person.name}"
        self.params[name], self.params[f"{name}_scope"] = sorted(hashes), scope
        return name

    def _emails(self, table: Table) -> list[str]:
        return [f"{email_hash_sql(quote(c.name))} = any(%(emails)s)" for c in table.email_columns]

    def _phones(self, table: Table) -> str | None:
        phones = [f"{phone_hash_sql(quote(c.name))} = any(%(phones)s)" for c in table.phone_columns]
        return " or ".join(phones) if phones and self.identity.phones else None

    @staticmethod
    def _no_email(table: Table) -> str:
        return " and ".join(f"coalesce(trim({quote(c.name)}), '') = ''" for c in table.email_columns) or "true"

    def _child_rows(self, child: Table, cond: str) -> str:
        # not correlated with the root's row: Postgres hashes the subquery's result once
        return f"_dlt_id in (select _dlt_root_id from {child.qualified} where {cond})"

    def where(self, table: Table) -> str | None:
        no_email = self._no_email(table)
        conds = self._emails(table)
        if phones := self._phones(table):
            conds.append(f"({no_email}) and ({phones})")
        if table.has("_dlt_id"):
            for child in children_of(table, self.siblings):
                evidence = self._emails(child)
                if self.use_mentions and (hay := _haystack(child.searchable_columns)):
                    evidence.append(_mentions(hay))
                if evidence:
                    conds.append(self._child_rows(child, _any(evidence)))
                if phones := self._phones(child):
                    conds.append(f"({no_email}) and {self._child_rows(child, phones)}")
        if self.source is not None:
            if table.is_person_table and table.key_column and (param := self._key_param(table)):
                conds.append(f"{key_hash_sql(quote(table.key_column), f'%({param}_scope)s')} = any(%({param})s)")
            for person in self.siblings:
                if not person.is_person_table or person.is_child or person.name == table.name:
                    continue
                param = self._key_param(person)
                for ref in table.references_to(person) if param else []:
                    conds.append(f"{key_hash_sql(quote(ref.name), f'%({param}_scope)s')} = any(%({param})s)")
        if self.use_mentions and (hay := _haystack(table.searchable_columns)):
            conds.append(_mentions(hay))
        return _any(conds)


def discover(cur, tables: list[Table], source: str | None, identity: Identity) -> None:
    """Add the phones and vendor ids on the person's rows to `identity` (mentions are not
    evidence enough: a stranger's note may name them)."""
    matcher = Matcher(identity, source, tables, use_mentions=False)
    for table in tables:
        if table.is_child or not (where := matcher.where(table)):
            continue
        key = table.key_column if (table.is_person_table and source) else None
        columns = [quote(c.name) for c in table.phone_columns] + ([quote(key)] if key else [])
        if not columns:
            continue
        cur.execute(f"select {', '.join(columns)} from {table.qualified} where {where}", matcher.params)
        for row in cur.fetchall():
            *phones, last = row if key else (*row, None)
            for phone in phones:
                identity.add_phone(phone)
            if key:
                identity.add_key(f"{source}.{table.name}", last)
        if not table.has("_dlt_id"):
            continue
        for child in children_of(table, tables):
            if child.phone_columns:
                cur.execute(f"select {', '.join(quote(c.name) for c in child.phone_columns)} "
                            f"from {child.qualified} where _dlt_root_id in "
                            f"(select _dlt_id from {table.qualified} where {where})", matcher.params)
                for row in cur.fetchall():
                    for phone in row:
                        identity.add_phone(phone)


def _blank(column: Column) -> str | None:
    if column.nullable:
        return "null"
    return "''" if column.is_text else None


def _anonymise(cur, table: Table, id_filter: str, params: dict, mentions: bool, counts: Counts) -> list[str]:
    """Blank the person's columns (and, during an erase, any other text mentioning them) of the
    chosen rows; rows already blank are left alone, so re-applying changes nothing."""
    sets, dirty = [], []
    for column in table.columns:
        name = quote(column.name)
        if column.is_personal(table.is_person_table) and (blank := _blank(column)) is not None:
            sets.append(f"{name} = {blank}")
            dirty.append(f"nullif({name}::text, '') is not null")
        elif mentions and column.is_text and not column.name.startswith("_dlt_"):
            hit = _mentions(f"lower({name}::text)")
            sets.append(f"{name} = case when {hit} then {_blank(column) or repr(_REDACTED_TEXT)} else {name} end")
            dirty.append(hit)
    if not sets:
        return []
    returning = " returning _dlt_load_id" if table.has("_dlt_load_id") else ""
    cur.execute(f"update {table.qualified} set {', '.join(sets)} where {id_filter} and ({' or '.join(dirty)})"
                f"{returning}", params)
    add_count(counts, table, "anonymised", cur.rowcount)
    return [row[0] for row in cur.fetchall()] if returning else []


def _delete(cur, table: Table, id_filter: str, params: dict, counts: Counts) -> list[str]:
    returning = " returning _dlt_load_id" if table.has("_dlt_load_id") else ""
    cur.execute(f"delete from {table.qualified} where {id_filter}{returning}", params)
    add_count(counts, table, "deleted", cur.rowcount)
    return [row[0] for row in cur.fetchall()] if returning else []


def scrub(cur, tables: list[Table], source: str | None, identity: Identity, counts: Counts) -> set[str]:
    """Delete the person's rows, or anonymise them in ledger tables; returns the dlt load ids of
    the rows changed (a change to an already-transformed load needs a full dbt refresh)."""
    matcher = Matcher(identity, source, tables, use_mentions=True)
    touched: set[str] = set()
    for table in tables:
        if table.is_child or not (where := matcher.where(table)):
            continue
        if not table.has("_dlt_id"):  # a snapshot: every version of the person goes
            touched.update(_delete(cur, table, where, matcher.params, counts))
            continue
        cur.execute(f"select _dlt_id from {table.qualified} where {where}", matcher.params)
        ids = [row[0] for row in cur.fetchall()]
        if not ids:
            continue
        params = {**matcher.params, "ids": ids}
        for child in children_of(table, tables):
            if table.is_ledger:
                touched.update(_anonymise(cur, child, "_dlt_root_id = any(%(ids)s)", params, matcher.use_mentions,
                                          counts))
            else:
                touched.update(_delete(cur, child, "_dlt_root_id = any(%(ids)s)", params, counts))
        if table.is_ledger:
            touched.update(_anonymise(cur, table, "_dlt_id = any(%(ids)s)", params, matcher.use_mentions, counts))
        else:
            touched.update(_delete(cur, table, "_dlt_id = any(%(ids)s)", params, counts))
    return touched


def redact_mentions(cur, tables: list[Table], identity: Identity, counts: Counts) -> None:
    """Ops tables keep raw pages, webhook bodies, messages: overwrite each value that mentions the
    person (the row stays, so the run record and its references do too)."""
    if not identity.mentions:
        return
    params = {"mentions": sorted(identity.mentions)}
    for table in tables:
        sets, hits = [], []
        for column in table.searchable_columns:
            name = quote(column.name)
            if column.data_type == "bytea":
                hit, marker = _mentions(f"lower(encode({name}, 'escape'))"), f"convert_to('{_REDACTED_TEXT}', 'UTF8')"
            elif column.data_type in ("json", "jsonb"):
                hit, marker = _mentions(f"lower({name}::text)"), f"'{{\"erased\": true}}'::{column.data_type}"
            elif column.data_type in ("text", "character varying"):
                hit, marker = _mentions(f"lower({name})"), f"'{_REDACTED_TEXT}'"
            else:
                continue
            sets.append(f"{name} = case when {hit} then {marker} else {name} end")
            hits.append(hit)
        if sets:
            cur.execute(f"update {table.qualified} set {', '.join(sets)} where {' or '.join(hits)}", params)
            add_count(counts, table, "redacted", cur.rowcount)


def find_mentions(cur, tables: list[Table], identity: Identity) -> list[str]:
    """The tables where any text, JSON or bytea value still mentions the person (erase time only)."""
    found = []
    params = {"mentions": sorted(identity.mentions)}
    for table in tables:
        hay = _haystack(table.searchable_columns)
        if hay and identity.mentions:
            cur.execute(f"select exists (select 1 from {table.qualified} where {_mentions(hay)})", params)
            if cur.fetchone()[0]:
                found.append(table.label)
    return found
