"""Records flattened into dlt's nested layout a column at a time (the fast path of ingest/columnar.py).

Walking every value of every record in Python (`NestedLayout._fill`) costs most of an Arrow
load. Records of one page mostly share their keys, so here each key's values are taken from all
records at once (`itemgetter` and `zip` do the walking in C); a column of strings goes to Arrow
as it is, and any other column's Python types decide what it becomes: scalars a column, dicts
flattened `parent__child` columns, lists a child table. Child row ids are dlt's digests, as the
row-wise walk gives them (hashing is the one cost left per row).

The result is the row-wise walk's, value for value and in the same order: a column (and a
table) is placed where the row-wise walk would first have created it, i.e. by the first row with
a value and, within that row, by the position of its keys. Where that walk would write two keys
into one column or one table (names that normalise alike), `Irregular` hands the page back to it.
"""

from __future__ import annotations

import hashlib
from binascii import b2a_base64
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

NoneType = type(None)
_TEXT = {str}
_AFTER_KEYS = 1 << 62  # a position after every key of a row: `value` and the dlt keys come last
CHILD_KEYS = ("_dlt_root_id", "_dlt_parent_id", "_dlt_list_idx", "_dlt_id")


@dataclass
class Columns:
    """One table of a page: its columns in order, its row count, and which columns are known to
    hold only str or None (their values need no look before they become Arrow strings)."""

    values: dict[str, list | pa.Array]
    rows: int
    text: set[str] = field(default_factory=set)


class Irregular(Exception):
    """Two keys of a page land in one column or one table: only the row-wise walk lays that out."""


def digests(texts) -> list[str]:
    """dlt's `digest128(text, 10)` of each text, without its per-call overhead (10 bytes: 14
    base64 characters once the padding is cut)."""
    shake = hashlib.shake_128
    # each digest padded to 12 bytes: one base64 call for all, 16 characters each, the first 14
    # the same as the digest's own (the padding only ever fills the last character's low bits)
    text = b2a_base64(b"".join([shake(t.encode()).digest(10) + b"\0\0" for t in texts]), newline=False).decode()
    return [text[i:i + 14] for i in range(0, len(text), 16)]


def row_ids(parents: list[str], indexes: list[int]) -> list[str]:
    """A child row's `_dlt_id`, as the row-wise walk gives it: digest128(f"{parent}_{idx}", 10)."""
    return digests(f"{p}_{i}" for p, i in zip(parents, indexes, strict=True))


_CHUNK = 128  # records a `zip` transposes at once: in the CPU's cache, and too few to wake the GC


def _transpose(dicts: list[dict], names: tuple) -> list[list]:
    """The values of each of `names` in `dicts` (KeyError if one lacks a name), in C: each
    record's values as a tuple, a few records at a time turned into a tuple per key."""
    if len(names) == 1:
        return [list(map(itemgetter(names[0]), dicts))]
    values = itemgetter(*names)
    columns: list[list] = [[] for _ in names]
    for start in range(0, len(dicts), _CHUNK):
        for column, part in zip(columns, zip(*map(values, dicts[start:start + _CHUNK]), strict=True), strict=True):
            column.extend(part)
    return columns


def _scatter(dicts: list[dict], names: tuple) -> list[list]:
    """The values of each of `names` in dicts that differ in their keys (None where missing)."""
    if len(names) * len(dicts) <= 4 * sum(map(len, dicts)):  # most keys in most dicts
        return [[d.get(key) for d in dicts] for key in names]
    place = {key: i for i, key in enumerate(names)}  # sparse: each present value put in its place
    columns = [[None] * len(dicts) for _ in names]
    for row, d in enumerate(dicts):
        for key, value in d.items():
            columns[place[key]][row] = value
    return columns


def _strings(values: list) -> pa.Array | None:
    """`values` as Arrow strings if they are all str or None (Arrow refuses anything else but
    bytes, which parsed JSON never holds), else None."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None


def _path(row: Any, keys: tuple) -> tuple[int, ...]:
    """Where the row-wise walk meets `keys` inside `row`: the position of each key in its dict."""
    path = []
    for key in keys:
        path.append(list(row).index(key))
        row = row[key]
    return tuple(path)


class _Table:
    """One table's columns, each with the place the row-wise walk would have created it."""

    __slots__ = ("name", "rows", "objects", "ids", "root_ids", "columns", "places", "text", "parent",
                 "parent_rows", "list_indexes", "keys")

    def __init__(self, name: str, objects: list, ids: list[str], root_ids: list[str], parent: _Table | None = None,
                 parent_rows: list[int] | None = None, list_indexes: list[int] | None = None,
                 keys: tuple = ()) -> None:
        self.name, self.objects, self.ids, self.root_ids = name, objects, ids, root_ids
        self.rows = len(objects)
        self.columns: dict[str, list] = {}
        self.places: dict[str, tuple] = {}
        self.text: set[str] = set()
        self.parent, self.parent_rows, self.list_indexes, self.keys = parent, parent_rows, list_indexes, keys

    def add(self, name: str, values: list, place: tuple, text: bool = False) -> None:
        if name in self.columns:
            raise Irregular(f"{self.name}.{name}")
        self.columns[name] = values
        self.places[name] = place
        if text:
            self.text.add(name)

    def place_of_row(self, row: int) -> tuple:
        """The row-wise walk's position when it starts this row: (root row, key and list positions)."""
        if self.parent is None:
            return (row,)
        parent_row = self.parent_rows[row]
        return (*self.parent.place_of_row(parent_row), *_path(self.parent.objects[parent_row], self.keys),
                self.list_indexes[row])

    def laid_out(self) -> Columns:
        order = sorted(self.columns, key=self.places.__getitem__)
        return Columns({name: self.columns[name] for name in order}, self.rows, self.text)


class ColumnWalk:
    """Flattens one page of records into {table name: Columns}, in the row-wise walk's order."""

    def __init__(self, normalize: Callable[[str], str]) -> None:
        self.normalize = normalize
        self.tables: dict[str, _Table] = {}
        self.created: dict[str, tuple] = {}

    def run(self, table: str, records: list[dict], root_ids: list[str]) -> dict[str, Columns]:
        root = self.tables[table] = _Table(table, records, root_ids, root_ids)
        self.created[table] = ()
        if records:
            self._walk(root, records, None, "", ())
        root.add("_dlt_id", root_ids, (0, (_AFTER_KEYS,)), text=True)
        order = sorted(self.tables, key=self.created.__getitem__)
        return {name: self.tables[name].laid_out() for name in order}

    def _walk(self, table: _Table, dicts: list[dict], rows: list[int] | None, prefix: str, keys: tuple) -> None:
        """The columns of `dicts`, found at `keys` in rows `rows` of `table` (every row when None)."""
        names, columns = tuple(dicts[0]), None
        if len(set(map(len, dicts))) == 1:
            try:
                columns = _transpose(dicts, names)
            except KeyError:
                pass
        if columns is None:
            names = tuple(dict.fromkeys(chain.from_iterable(dicts)))
            columns = _scatter(dicts, names)
        for key, values in zip(names, columns, strict=True):
            if rows is None and (texts := _strings(values)) is not None:  # most columns: no look at types
                if texts.null_count < len(texts):
                    self._text_column(table, prefix + self.normalize(key), texts, keys + (key,))
                continue
            types = set(map(type, values))
            has_none = NoneType in types
            types.discard(NoneType)
            if not types:
                continue
            name = prefix + self.normalize(key)
            nested = types & {dict, list}
            if nested != types:  # scalars (a key may hold a scalar in one record, a dict in the next)
                scalars = values if not nested else [None if type(v) is dict or type(v) is list else v
                                                     for v in values]
                self._column(table, name, scalars, rows, has_none or bool(nested), keys + (key,),
                             types - nested <= _TEXT)
            if dict in types:
                at = [i for i, v in enumerate(values) if type(v) is dict] if types != {dict} or has_none else None
                sub = list(values) if at is None else [values[i] for i in at]
                sub_rows = rows if at is None else at if rows is None else [rows[i] for i in at]
                non_empty = [i for i, d in enumerate(sub) if d]
                if len(non_empty) < len(sub):  # `{}` writes nothing
                    sub = [sub[i] for i in non_empty]
                    sub_rows = non_empty if sub_rows is None else [sub_rows[i] for i in non_empty]
                if sub:
                    self._walk(table, sub, sub_rows, name + "__", keys + (key,))
            if list in types:
                self._child(table, name, values, rows, keys + (key,))

    def _text_column(self, table: _Table, name: str, values: pa.Array, keys: tuple) -> None:
        first = pc.index(values.is_valid(), True).as_py() if values.null_count else 0
        table.add(name, values, (first, _path(table.objects[first], keys)), True)

    def _column(self, table: _Table, name: str, values, rows: list[int] | None, sparse: bool, keys: tuple,
                text: bool) -> None:
        first = next(i for i, v in enumerate(values) if v is not None) if sparse else 0
        if rows is None:
            full = list(values)
        else:
            full = [None] * table.rows
            for row, value in zip(rows, values, strict=True):
                full[row] = value
            first = rows[first]
        table.add(name, full, (first, _path(table.objects[first], keys)), text)

    def _child(self, table: _Table, name: str, values, rows: list[int] | None, keys: tuple) -> None:
        """A list at `keys`: its items become rows of the child table, in parent row order."""
        child_name = f"{table.name}__{name}"
        if child_name in self.tables:
            raise Irregular(child_name)
        if all(type(v) is list for v in values):
            lists, parent_rows = values, rows or range(len(values))
        else:
            at = [i for i, v in enumerate(values) if type(v) is list]
            lists, parent_rows = [values[i] for i in at], at if rows is None else [rows[i] for i in at]
        # the row-wise walk creates the table where it meets the first list, even an empty one
        first = parent_rows[0]
        self.created[child_name] = (*table.place_of_row(first), *_path(table.objects[first], keys))
        # every item, the parent row it came from and its place in its list: in C, no per-item Python
        lengths = list(map(len, lists))
        items = list(chain.from_iterable(lists))
        if len(items) == len(lists) and max(lengths) == 1:  # one item each
            item_parents, indexes = list(parent_rows), [0] * len(items)
        else:  # most lists are empty: only the others are looked at
            filled = list(compress(range(len(lists)), lengths))
            lengths = [lengths[i] for i in filled]
            item_parents = list(chain.from_iterable(map(repeat, [parent_rows[i] for i in filled], lengths)))
            indexes = list(chain.from_iterable(map(range, lengths)))
        parent_ids = list(map(table.ids.__getitem__, item_parents))
        child = self.tables[child_name] = _Table(
            child_name, items, row_ids(parent_ids, indexes), list(map(table.root_ids.__getitem__, item_parents)),
            table, item_parents, indexes, keys)
        if not items:
            return
        kinds = set(map(type, items))
        if kinds == {dict} and all(items):
            self._walk(child, items, None, "", ())
        elif dict in kinds:
            dicts = [i for i, item in enumerate(items) if type(item) is dict and item]
            if dicts:
                self._walk(child, [items[i] for i in dicts], dicts, "", ())
        if kinds - {dict, NoneType}:
            value = [None if item is None or type(item) is dict else item for item in items]
            first_scalar = next(i for i, item in enumerate(value) if item is not None)
            child.add("value", value, (first_scalar, (_AFTER_KEYS,)))
        for rank, (column, column_values) in enumerate(zip(
                CHILD_KEYS, (child.root_ids, parent_ids, indexes, child.ids), strict=True), start=1):
            child.add(column, column_values, (0, (_AFTER_KEYS + rank,)), column != "_dlt_list_idx")
