"""Pages of JSON records as Arrow tables in dlt's nested layout, built column by column.

dlt's own normaliser walks every value of every row in Python (flatten, coerce, escape), which
costs more than fetching the pages. For the big streams a source hands dlt Arrow tables instead,
laid out exactly as that normaliser would lay them out, so staging models and suites read the
same tables and columns:

- nested objects are flattened into `parent__child` columns (dlt's snake_case naming);
- lists of objects become child tables `<table>__<field>` with `_dlt_parent_id`,
  `_dlt_root_id`, `_dlt_list_idx` and `_dlt_id`; lists of scalars a child table with `value`;
- column types come from the resource's hints, else from the values (a string that reads as an
  ISO timestamp becomes a timestamp, as dlt's `iso_timestamp` detection does).

A page is flattened a column at a time (ingest/columnwise.py); a page whose keys that walk
cannot place (names that normalise alike) is walked record by record instead (`row_wise`),
with the same result.

The differences are deliberate: a root row's `_dlt_id` is a digest of its primary key (stable
across loads), and child tables are dlt tables of their own (with a `_dlt_load_id` column of
their own), merged on `_dlt_root_id`, so a
changed record replaces all its child rows. A record whose list became empty has no child row
to carry that, so `prune_replaced_children` deletes the child rows older than their root row
after each load.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.detections import is_iso_timestamp
from dlt.common.utils import digest128

from ingest.columnwise import Columns, ColumnWalk, Irregular, digests

_naming = NamingConvention()
_UTC = pa.timestamp("us", tz="UTC")

# the dlt bookkeeping columns of a child table; not dlt's parent/root keys: these tables are
# dlt tables of their own, not nested ones (dlt would warn of a parent key without a parent)
CHILD_KEY_COLUMNS = {
    "_dlt_root_id": {"name": "_dlt_root_id", "data_type": "text", "nullable": False, "root_key": False},
    "_dlt_parent_id": {"name": "_dlt_parent_id", "data_type": "text", "nullable": False, "parent_key": False},
    "_dlt_list_idx": {"name": "_dlt_list_idx", "data_type": "bigint", "nullable": False},
    "_dlt_id": {"name": "_dlt_id", "data_type": "text", "nullable": False, "unique": True, "row_key": True},
}
ROOT_KEY_COLUMNS = {"_dlt_id": CHILD_KEY_COLUMNS["_dlt_id"]}
BATCH_ROWS = 2_000  # records per Arrow table: enough that dlt's per-item cost vanishes, memory stays flat
# dlt's own choice for Arrow items on Postgres: COPY (see ingest.pipeline.dlt_defaults for '')
FILE_FORMAT = "csv"
# a root's rows are unique by key in every load (the sources keep one version of a record per
# run, and the staging table's unique _dlt_id would refuse a second): dlt's dedup, a window sort
# over every staged row, would find nothing
ROOT_MERGE = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}


class ColumnTypeError(ValueError):
    """A column's values cannot be read as the type its first values (or its hint) gave it."""


def _arrow_type(hint: dict) -> pa.DataType | None:
    kind = hint.get("data_type")
    if kind == "decimal":
        return pa.decimal128(hint.get("precision", 38), hint.get("scale", 9))
    if kind == "timestamp":
        return _UTC
    return {"text": pa.string(), "bigint": pa.int64(), "bool": pa.bool_(), "double": pa.float64(),
            "json": pa.string(), "date": pa.date32()}.get(kind)


def _all_none(values: list | pa.Array) -> bool:
    if isinstance(values, pa.Array):
        return values.null_count == len(values)
    return all(v is None for v in values)


def _infer(values: list | pa.Array) -> pa.DataType:
    """The type dlt would give a new column from its first value."""
    if isinstance(values, pa.Array):
        values = values.drop_null()[:1].to_pylist()
    first = next(v for v in values if v is not None)
    if isinstance(first, bool):
        return pa.bool_()
    if isinstance(first, int):
        return pa.int64()
    if isinstance(first, float):
        return pa.float64()
    if isinstance(first, Decimal):
        return pa.decimal128(38, 9)
    if isinstance(first, datetime):
        return _UTC
    if isinstance(first, str) and is_iso_timestamp(str, first):
        return _UTC
    return pa.string()


_TEXT_OR_NONE = {str, type(None)}
_DECIMAL_OR_NONE = {Decimal, type(None)}


def _only_text(values: list) -> bool:
    # one pass in C; the per-value conversions below are needed only when this is False
    return set(map(type, values)) <= _TEXT_OR_NONE


def _zoned(strings: pa.Array) -> pa.Array:
    return strings.cast(_UTC)  # with a zone offset


def _utc_wall_time(strings: pa.Array) -> pa.Array:
    return strings.cast(pa.timestamp("us")).cast(_UTC)  # no offset: UTC wall time


def _timestamps(values: list, text: bool) -> pa.Array:
    texts = values if text else [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return _read_timestamps(pa.array(texts, pa.string()), values)


def _read_timestamps(strings: pa.Array, values: list | None = None) -> pa.Array:
    # the two casts take disjoint strings (with an offset, without); a cast failing on a whole
    # column costs milliseconds, so the one the first value takes goes first
    casts = (_zoned, _utc_wall_time)
    try:
        _zoned(strings.drop_null()[:1])
    except pa.ArrowInvalid:
        casts = (_utc_wall_time, _zoned)
    for cast in casts:
        try:
            return cast(strings)
        except pa.ArrowInvalid:
            pass
    # offsets in some values, none in others: each value on its own (no offset: UTC)
    from dlt.common.time import ensure_pendulum_datetime

    values = strings.to_pylist() if values is None else values
    return pa.array([None if v is None else ensure_pendulum_datetime(v, timezone.utc) for v in values], _UTC)


def _decimals(values: list, kind: pa.Decimal128Type, text: bool) -> pa.Array:
    if not text and set(map(type, values)) <= _DECIMAL_OR_NONE:
        # Decimals (the parsers of Xero and Lightspeed) convert in C, five times faster than text
        try:
            return _rescale(pa.array(values, _wide(kind)), kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # more digits than the wide type keeps: through text, as below
    # through text: floats (WooCommerce line prices) must not pick up binary noise
    if not text:
        values = [None if v is None else v if isinstance(v, str) else str(v) for v in values]
    return _read_decimals(pa.array(values, pa.string()), kind)


def _wide(kind: pa.Decimal128Type) -> pa.Decimal128Type:
    return pa.decimal128(38, max(kind.scale, 10))


def _rescale(wide: pa.Array, kind: pa.Decimal128Type) -> pa.Array:
    try:
        return wide.cast(kind)  # no more digits than the column keeps: nothing to round
    except pa.ArrowInvalid:
        return pc.round(wide, ndigits=kind.scale, round_mode="half_to_even").cast(kind)


def _read_decimals(strings: pa.Array, kind: pa.Decimal128Type) -> pa.Array:
    try:
        return strings.cast(kind)  # no more digits than the column keeps: nothing to round
    except pa.ArrowInvalid:
        return _rescale(strings.cast(_wide(kind)), kind)


def to_array(values: list | pa.Array, kind: pa.DataType, column: str, text: bool | None = None) -> pa.Array:
    """`values` as an Arrow array of `kind`; `text` says they are all str or None, if known.
    `values` may be an Arrow array of strings already (ingest/columnwise.py reads text so)."""
    try:
        if isinstance(values, pa.Array):
            if values.type == kind:
                return values
            if kind == _UTC and values.type == pa.string():
                return _read_timestamps(values)
            if pa.types.is_decimal(kind) and values.type == pa.string():
                return _read_decimals(values, kind)
            values, text = values.to_pylist(), values.type == pa.string()
        if kind == _UTC:
            return _timestamps(values, _only_text(values) if text is None else text)
        if pa.types.is_decimal(kind):
            return _decimals(values, kind, _only_text(values) if text is None else text)
        if kind == pa.string():
            if not (_only_text(values) if text is None else text):
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            return pa.array(values, kind)
        return pa.array(values, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise ColumnTypeError(f"column {column}: values do not fit {kind}: {exc}") from exc


def _normalized(columns: dict | None) -> dict[str, dict]:
    return {_naming.normalize_path(name): hint for name, hint in (columns or {}).items()}


def _split_variants(name: str, values: list, kind: pa.DataType) -> tuple[list, dict[str, list]]:
    """A value that does not fit its column goes to a variant column named by its own type, as
    dlt does (`customer_id__v_text`): schema drift lands, and sync reports the type change."""
    fitting = list(values)
    variants: dict[str, list] = {}
    for row, value in enumerate(values):
        if value is None:
            continue
        try:
            to_array([value], kind, name)
        except ColumnTypeError:
            fitting[row] = None
            variant = f"{name}__v_{_dlt_type(value)}"
            variants.setdefault(variant, [None] * len(values))[row] = value
    return fitting, variants


def _dlt_type(value: Any) -> str:
    for python_type, dlt_type in ((bool, "bool"), (int, "bigint"), (float, "double"), (Decimal, "decimal"),
                                  (datetime, "timestamp")):
        if isinstance(value, python_type):
            return dlt_type
    return "text"


class _Table:
    """Columns of one table being filled row by row; a column first seen late is padded with None."""

    __slots__ = ("columns", "rows")

    def __init__(self) -> None:
        self.columns: dict[str, list] = {}
        self.rows = 0

    def padded(self) -> dict[str, list]:
        for column in self.columns.values():
            if len(column) < self.rows:
                column.extend([None] * (self.rows - len(column)))
        return self.columns


class NestedLayout:
    """Turns pages of one resource into Arrow tables: the root table and its child tables.

    `columns` and `nested_hints` are the column hints a dict resource would be declared with;
    here they become the Arrow types (declare the resource itself with `primary_key` and
    ROOT_KEY_COLUMNS and FILE_FORMAT only: dlt copies a resource's column hints into every
    table variant).
    `primary_key` names the root's key, digested into its stable `_dlt_id`.
    Column types, once decided, hold for every later page of this layout.
    """

    def __init__(self, table: str, primary_key: str, columns: dict | None = None,
                 nested_hints: dict | None = None, write_disposition: str = "merge") -> None:
        self.table = table
        self.write_disposition = write_disposition  # the child tables', as the root's (first_loads)
        self.primary_key = primary_key  # as the vendor spells it (`InvoiceID`)
        self.key_column = _naming.normalize_identifier(primary_key)  # as dlt names it (`invoice_id`)
        self.hints: dict[str, dict[str, dict]] = {table: _normalized(columns)}
        for path, nested in (nested_hints or {}).items():
            parts = (path,) if isinstance(path, str) else tuple(path)
            name = "__".join((table, *(_naming.normalize_identifier(p) for p in parts)))
            self.hints[name] = _normalized(nested.get("columns"))
        self.types: dict[str, dict[str, pa.DataType]] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._identifiers: dict[str, str] = {}
        self._hinted: set[str] = set()  # child tables whose hints dlt has had this run

    def learn(self, schema) -> NestedLayout:
        """Take the column types earlier loads gave these tables (a dlt Schema), so a page whose
        values drift lands in variant columns instead of failing to load."""
        for name, table in schema.tables.items():
            if name == self.table or name.startswith(f"{self.table}__"):
                known = self.types.setdefault(name, {})
                for column, hint in table.get("columns", {}).items():
                    kind = _arrow_type(hint)
                    if kind is not None and column != "_dlt_load_id":
                        known.setdefault(column, kind)
        return self

    def _name(self, prefix: str, key: str) -> str:
        name = self._names[(prefix, key)] = prefix + _naming.normalize_identifier(key)
        return name

    def _fill(self, record: dict, table: str, target: _Table, tables: dict[str, _Table], row_id: str,
              root_id: str, prefix: str = "") -> None:
        """Write one record's scalars into row `target.rows` of `target`; lists go to child tables."""
        row, columns, names = target.rows, target.columns, self._names
        for key, value in record.items():
            if value is None:
                continue
            name = names.get((prefix, key)) or self._name(prefix, key)
            if type(value) is dict:
                self._fill(value, table, target, tables, row_id, root_id, name + "__")
            elif type(value) is list:
                child_name = f"{table}__{name}"
                child = tables.get(child_name) or tables.setdefault(child_name, _Table())
                for idx, item in enumerate(value):
                    child_id = digest128(f"{row_id}_{idx}", 10)
                    if type(item) is dict:
                        self._fill(item, child_name, child, tables, child_id, root_id)
                    elif item is not None:
                        self._put(child, "value", item)
                    self._put(child, "_dlt_root_id", root_id)
                    self._put(child, "_dlt_parent_id", row_id)
                    self._put(child, "_dlt_list_idx", idx)
                    self._put(child, "_dlt_id", child_id)
                    child.rows += 1
            else:
                column = columns.get(name)
                if column is None:
                    column = columns[name] = []
                if len(column) < row:
                    column.extend([None] * (row - len(column)))
                column.append(value)

    @staticmethod
    def _put(table: _Table, name: str, value: Any) -> None:
        column = table.columns.get(name)
        if column is None:
            column = table.columns[name] = []
        if len(column) < table.rows:
            column.extend([None] * (table.rows - len(column)))
        column.append(value)

    def tables(self, records: list[dict]) -> dict[str, pa.Table]:
        """One page of records as {table name: Arrow table}; child tables only where rows exist."""
        root_ids = digests(f"{self.table}:{record[self.primary_key]}" for record in records)
        try:
            laid_out = ColumnWalk(self._identifier).run(self.table, records, root_ids)
        except Irregular:  # keys that normalise alike: the row-wise walk writes them as dlt would
            laid_out = self.row_wise(records)
        return {name: self._to_arrow(name, table) for name, table in laid_out.items() if table.rows}

    def _identifier(self, key: str) -> str:
        name = self._identifiers.get(key)
        if name is None:
            name = self._identifiers[key] = _naming.normalize_identifier(key)
        return name

    def row_wise(self, records: list[dict]) -> dict[str, Columns]:
        """The page walked record by record, value by value. Slower than
        ingest/columnwise.py, whose results must equal these; it takes the pages that one refuses."""
        root = _Table()
        tables: dict[str, _Table] = {self.table: root}
        for record in records:
            root_id = digest128(f"{self.table}:{record[self.primary_key]}", 10)
            self._fill(record, self.table, root, tables, root_id, root_id)
            self._put(root, "_dlt_id", root_id)
            root.rows += 1
        return {name: Columns(table.padded(), table.rows) for name, table in tables.items()}

    def _to_arrow(self, table_name: str, table: Columns) -> pa.Table:
        hints = self.hints.get(table_name, {})
        known = self.types.setdefault(table_name, {})
        arrays, fields = [], []
        columns = table.values
        for name in hints:  # a hinted column exists from the first load, as dlt creates it
            if name not in columns and _arrow_type(hints[name]) is not None:
                columns[name] = [None] * table.rows
        pending = list(columns.items())
        while pending:
            name, values = pending.pop(0)
            kind = known.get(name)
            if kind is None:
                hinted = _arrow_type(hints[name]) if name in hints else None
                if hinted is None and _all_none(values):
                    continue  # dlt creates no column before it sees a value
                kind = known[name] = hinted or _infer(values)
            try:
                arrays.append(to_array(values, kind, f"{table_name}.{name}", text=name in table.text or None))
            except ColumnTypeError:
                if isinstance(values, pa.Array):
                    values = values.to_pylist()
                fitting, variants = _split_variants(name, values, kind)
                arrays.append(to_array(fitting, kind, f"{table_name}.{name}"))
                pending.extend(variants.items())
            required = name.startswith("_dlt_") or (table_name == self.table and name == self.key_column)
            fields.append(pa.field(name, kind, nullable=not required))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def items(self, records: list[dict]) -> Iterator[Any]:
        """The page as dlt items: the root table, then each child table as a table variant."""
        for name, arrow in self.tables(records).items():
            if name == self.table:
                yield arrow
            elif name in self._hinted:
                # hints do not change within a run: re-sending them made dlt validate them and
                # recompute every table's schema for each batch
                yield dlt.mark.with_table_name(arrow, name)
            else:
                self._hinted.add(name)
                yield dlt.mark.with_hints(arrow, child_hints(name, self.hints.get(name, {}),
                                                             self.write_disposition),
                                          create_table_variant=True)


def columnar_resource(fn, *, name: str, primary_key: str, columns: dict | None = None,
                      nested_hints: dict | None = None, batch_rows: int = BATCH_ROWS, **resource_kwargs):
    """`dlt.resource` for a generator of pages (lists of dicts) whose rows reach dlt as Arrow
    tables in batches of about `batch_rows`. The generator is unchanged (its resource state,
    cursor and paging stay its own); hints are the ones a dict resource would be declared with.
    A page of None passes through: dlt serves the other resources and comes back (a resource
    waiting for another one, e.g. WooCommerce customers for the run's orders)."""

    @functools.wraps(fn)
    def as_arrow(*args, **kwargs):
        # "append" when ingest.sync.first_loads found the tables empty: children follow their root
        disposition = "append" if dlt.current.resource().write_disposition == "append" else "merge"
        layout = NestedLayout(name, primary_key, columns, nested_hints, disposition).learn(
            dlt.current.source_schema())
        batch: list[dict] = []
        for page in fn(*args, **kwargs):
            if page is None:
                yield None
                continue
            batch.extend(page if isinstance(page, list) else [page])
            if len(batch) >= batch_rows:
                yield from layout.items(batch)
                batch = []
        if batch:
            yield from layout.items(batch)

    return dlt.resource(as_arrow, name=name, write_disposition=ROOT_MERGE, primary_key=primary_key,
                        columns=ROOT_KEY_COLUMNS, file_format=FILE_FORMAT, **resource_kwargs)


def child_hints(name: str, columns: dict, write_disposition: str = "merge"):
    # primary_key=[]: a variant would otherwise inherit the root's key (child ids need not be unique)
    return dlt.mark.make_hints(table_name=name, write_disposition=write_disposition, merge_key="_dlt_root_id",
                               primary_key=[], columns={**columns, **CHILD_KEY_COLUMNS}, file_format=FILE_FORMAT)


def prune_replaced_children(db, schema: str, root: str, load_ids: list[str]) -> int:
    """Delete child rows whose root row was replaced by a later load (a list that became empty
    brings no rows to merge). Looks only at roots written by `load_ids`."""
    if not load_ids:
        return 0
    deleted = 0
    with db.cursor() as cur:
        cur.execute("select table_name from information_schema.columns where table_schema = %s "
                    "and table_name like %s and column_name = '_dlt_root_id'",
                    (schema, f"{root}\\_\\_%"))
        for (child,) in cur.fetchall():
            cur.execute(
                f'delete from "{schema}"."{child}" as c using "{schema}"."{root}" as r '
                "where r._dlt_load_id = any(%s) and c._dlt_root_id = r._dlt_id "
                "and c._dlt_load_id < r._dlt_load_id", (load_ids,))
            deleted += cur.rowcount
    return deleted
