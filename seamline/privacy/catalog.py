"""The tables Seamline keeps and which of their columns hold a person.

Columns are classified by name, from the database's own catalog, so a column dlt adds when a
vendor's payload grows (schema evolution) is covered the day it lands. The rule works on the
column's last `__` segment (dlt flattens `billing.email` to `billing__email`):

- email: a text column whose last segment contains `email` (`email`, `email_address`, `billing__email`);
- phone: contains `phone`, `mobile` or `fax`; `info_string` (Finale's contact mechanisms) is both;
- address: contains `address` (street lines, `ip_address` too) or is `city`, `suburb`, `postcode`,
  `postal_code`, `zip`, `latitude`, `longitude`;
- name and free text: `first_name`, `last_name`, `full_name`, `username`, `display_name`, `company`,
  `avatar_url`, `user_agent`, `note`, `customer_note`, `customer_user_agent`; and `name` itself in a
  person table or under a person's segment (`contact__name`, `billing__name`).

Tables: a root table named `customers`, `profiles` or `contacts` holds people (their rows are
deleted); one named `orders`, `sales`, `invoices`, `credit_notes`, `payments` or `refunds` is a
ledger the accounts must keep (its rows are anonymised: person columns blanked, amounts kept);
any other root table's matching rows (Klaviyo events...) are deleted. Child tables (dlt's
`<root>__<list>`) follow their root row through `_dlt_root_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_TYPES = {"character varying", "text", "json", "jsonb", "character"}
SEARCHABLE_TYPES = TEXT_TYPES | {"bytea"}

PERSON_TABLES = {"customers", "profiles", "contacts"}
LEDGER_TABLES = {"orders", "sales", "invoices", "credit_notes", "payments", "refunds"}

_PERSONAL_LEAVES = {"first_name", "last_name", "full_name", "username", "display_name", "company", "avatar_url",
                    "user_agent", "note", "customer_note", "customer_user_agent"}
_ADDRESS_LEAVES = {"city", "suburb", "postcode", "postal_code", "zip", "latitude", "longitude"}
_PERSON_SEGMENTS = {"contact", "customer", "profile", "billing", "shipping", "person"}
# a value that is an email or a phone depending on a type column beside it (Finale's contact mechanisms)
_CONTACT_VALUE_LEAVES = {"info_string"}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    nullable: bool = True

    @property
    def leaf(self) -> str:
        return self.name.split("__")[-1].lower()

    @property
    def is_text(self) -> bool:
        return self.data_type in TEXT_TYPES

    @property
    def is_email(self) -> bool:
        return self.is_text and ("email" in self.leaf or self.leaf in _CONTACT_VALUE_LEAVES)

    @property
    def is_phone(self) -> bool:
        return self.is_text and (any(word in self.leaf for word in ("phone", "mobile", "fax"))
                                 or self.leaf in _CONTACT_VALUE_LEAVES)

    def is_personal(self, person_table: bool) -> bool:
        """Does this column hold something of the person (blanked when a ledger row is theirs)?"""
        if self.name.startswith("_dlt_"):
            return False
        leaf = self.leaf
        if self.is_email or self.is_phone or "address" in leaf or leaf in _ADDRESS_LEAVES:
            return True
        if leaf in _PERSONAL_LEAVES:
            return True
        segments = {s.lower() for s in self.name.split("__")[:-1]}
        return leaf == "name" and (person_table or bool(segments & _PERSON_SEGMENTS))


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{quote(self.schema)}.{quote(self.name)}"

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    def has(self, column: str) -> bool:
        return any(c.name == column for c in self.columns)

    @property
    def is_child(self) -> bool:
        return self.has("_dlt_root_id")

    @property
    def root_name(self) -> str:
        return self.name.split("__")[0]

    @property
    def is_person_table(self) -> bool:
        return self.root_name in PERSON_TABLES

    @property
    def is_ledger(self) -> bool:
        return self.root_name in LEDGER_TABLES

    @property
    def email_columns(self) -> list[Column]:
        return [c for c in self.columns if c.is_email]

    @property
    def phone_columns(self) -> list[Column]:
        return [c for c in self.columns if c.is_phone]

    @property
    def personal_columns(self) -> list[Column]:
        return [c for c in self.columns if c.is_personal(self.is_person_table)]

    @property
    def searchable_columns(self) -> list[Column]:
        return [c for c in self.columns if c.data_type in SEARCHABLE_TYPES]

    # -- how other tables point at a person table: `customer_id`, `contact__contact_id` -------------
    @property
    def entity(self) -> str:
        return self.name[:-1] if self.name.endswith("s") else self.name

    @property
    def key_column(self) -> str | None:
        """The vendor's id of a person row: `<entity>_id` (Xero's contact_id), else `id`."""
        for name in (f"{self.entity}_id", "id"):
            if self.has(name):
                return name
        return None

    def references_to(self, person: Table) -> list[Column]:
        """Columns of this table holding a `person` table's key."""
        key = person.key_column
        if key is None or self.name == person.name:
            return []
        names = {f"{person.entity}_id", f"{person.entity}__{key}"}
        return [c for c in self.columns
                if c.name in names or c.name.endswith(f"__{person.entity}__{key}")]


def load_tables(cur, schemas: list[str]) -> dict[str, list[Table]]:
    """The base tables (dlt's own `_dlt_*` bookkeeping left out) of each schema, with their columns."""
    cur.execute("""
        select c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES'
        from information_schema.columns as c
        inner join information_schema.tables as t
            on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema = any(%s) and t.table_type = 'BASE TABLE' and c.table_name not like '\\_dlt\\_%%'
        order by c.table_schema, c.table_name, c.ordinal_position
    """, (list(schemas),))
    tables: dict[tuple[str, str], Table] = {}
    for schema, name, column, data_type, nullable in cur.fetchall():
        tables.setdefault((schema, name), Table(schema, name)).columns.append(Column(column, data_type, nullable))
    by_schema: dict[str, list[Table]] = {schema: [] for schema in schemas}
    for (schema, _), table in sorted(tables.items()):
        by_schema[schema].append(table)
    return by_schema


def children_of(root: Table, tables: list[Table]) -> list[Table]:
    return [t for t in tables if t.is_child and t.root_name == root.name and t.name != root.name]
