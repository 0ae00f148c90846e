"""Arrow items (ingest/columnar.py) land the same tables, columns, types and values as dlt's own
normaliser, and a changed record's child rows are replaced, never kept beside the new ones."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

import dlt
import pytest
from conftest import scalar, serve_world
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingest.columnar import FILE_FORMAT, ROOT_KEY_COLUMNS, NestedLayout, prune_replaced_children
from ingest.pipeline import dlt_defaults, make_source
from sandbox.world import World

START = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
DLT_KEYS = ("_dlt_id", "_dlt_root_id", "_dlt_parent_id", "_dlt_load_id")


def _pipeline(db, name: str):
    dlt_defaults()
    return dlt.pipeline(pipeline_name=f"test_{name}", dataset_name=name, pipelines_dir=f"/tmp/seamline-{name}",
                        destination=dlt.destinations.postgres(credentials=db.dlt_credentials()))


def _columns(db, schema: str) -> dict[str, set]:
    with db.cursor() as cur:
        cur.execute("select table_name, column_name, data_type, numeric_precision, numeric_scale "
                    "from information_schema.columns where table_schema = %s and table_name not like '\\_dlt%%'",
                    (schema,))
        tables: dict[str, set] = {}
        for table, *column in cur.fetchall():
            tables.setdefault(table, set()).add(tuple(column))
        return tables


def _rows(db, schema: str, root: str, key: str, table: str, columns: list[str]) -> list[tuple]:
    """Every row, its dlt keys replaced by the key of the root record it belongs to."""
    plain = [c for c in columns if c not in DLT_KEYS]
    select = ", ".join(f"t.{c}" for c in plain)
    with db.cursor() as cur:
        if table == root:
            cur.execute(f"select {select} from {schema}.{root} as t order by t.{key}")
        else:  # grandchildren share a list index with their cousins: sort by every column
            order = ", ".join(str(i) for i in range(1, len(plain) + 3))
            cur.execute(f"select r.{key}, t._dlt_list_idx, {select} from {schema}.{table} as t "
                        f"inner join {schema}.{root} as r on r._dlt_id = t._dlt_root_id order by {order}")
        return cur.fetchall()


def _woocommerce_orders():
    from ingest.woocommerce.settings import ORDER_COLUMNS, ORDER_NESTED_HINTS

    return ORDER_COLUMNS, ORDER_NESTED_HINTS


def _woocommerce_flat(name: str):
    from ingest.woocommerce import settings

    return getattr(settings, name), None


def _hints(source: str, resource: str):
    """The hints the resource would be declared with as a dict resource."""
    if source == "xero":
        from ingest.xero.settings import HINTS

        return HINTS[resource]
    if source == "klaviyo":
        from ingest.klaviyo import settings

        return getattr(settings, f"{resource[:-1].upper()}_COLUMNS"), None
    module = __import__(f"ingest.{source}.settings", fromlist=["columns"])
    return module.columns(resource), module.nested_hints(resource)


def _columnar_streams():
    from ingest.finale import COLUMNAR_RESOURCES as FINALE
    from ingest.finale.settings import COLLECTIONS as FINALE_KEYS
    from ingest.klaviyo import COLUMNAR_RESOURCES as KLAVIYO
    from ingest.lightspeed.settings import RESOURCES as LIGHTSPEED
    from ingest.xero.settings import COLLECTIONS as XERO

    yield "woocommerce", "orders", "id", _woocommerce_orders
    yield "woocommerce", "customers", "id", partial(_woocommerce_flat, "CUSTOMER_COLUMNS")
    yield "woocommerce", "products", "id", partial(_woocommerce_flat, "PRODUCT_COLUMNS")
    for name, collection in XERO.items():
        yield "xero", name, collection.key, partial(_hints, "xero", name)
    for name in LIGHTSPEED:
        yield "lightspeed", name, "id", partial(_hints, "lightspeed", name)
    for name in KLAVIYO:
        yield "klaviyo", name, "id", partial(_hints, "klaviyo", name)
    for name in FINALE:
        yield "finale", name, FINALE_KEYS[name][1], partial(_hints, "finale", name)


# (source, resource, the vendor's key, the resource's dict hints)
COLUMNAR = list(_columnar_streams())


@pytest.fixture(scope="module", params=COLUMNAR, ids=[f"{c[0]}.{c[1]}" for c in COLUMNAR])
def both_ways(request, database):
    """The same sandbox records (as the source hands them to its layout) loaded by dlt's
    normaliser from dicts and by NestedLayout from Arrow tables."""
    source, resource, key, hints = request.param
    key_column = NamingConvention().normalize_identifier(key)
    columns, nested = hints()
    world = World(seed=5, scale=300, start=START)
    world.advance(30)  # trashed, refunded, paid and edited records too
    batches: list[list[dict]] = []
    real_items = NestedLayout.items

    def spy(self, records):
        batches.append(records)
        return real_items(self, records)

    with serve_world(world), pytest.MonkeyPatch.context() as patch:
        patch.setattr(NestedLayout, "items", spy)
        for _ in make_source(source).with_resources(resource):
            pass
    layout = NestedLayout(resource, key, columns, nested)
    dicts, arrow = f"parity_{source}_dicts", f"parity_{source}_arrow"
    loads = {
        dicts: dlt.resource([record for batch in batches for record in batch], name=resource,
                            write_disposition="merge", primary_key=key, columns=columns, nested_hints=nested),
        arrow: dlt.resource((item for batch in batches for item in layout.items(batch)), name=resource,
                            write_disposition="merge", primary_key=key, columns=ROOT_KEY_COLUMNS,
                            file_format=FILE_FORMAT),
    }
    for schema, items in loads.items():
        with database.cursor() as cur:
            cur.execute(f"drop schema if exists {schema} cascade")
        _pipeline(database, schema).drop()
        _pipeline(database, schema).run(items)
    return dicts, arrow, resource, key_column, sum(len(batch) for batch in batches)


def test_arrow_lands_the_same_tables_columns_and_types(both_ways, database):
    dicts, arrow, root, _, _ = both_ways
    by_dlt, by_arrow = _columns(database, dicts), _columns(database, arrow)
    assert sorted(by_arrow) == sorted(by_dlt)
    assert root in by_arrow
    for table in by_dlt:
        # child tables also carry their load id: merging them on their own needs it
        extra = {("_dlt_load_id", "character varying", None, None)} if table != root else set()
        assert by_arrow[table] == by_dlt[table] | extra, table


def test_arrow_lands_the_same_values(both_ways, database):
    dicts, arrow, root, key, records = both_ways
    assert scalar(database, f"select count(*) from {arrow}.{root}") == records > 0
    for table, columns in _columns(database, dicts).items():
        names = sorted(c[0] for c in columns)
        got, want = _rows(database, arrow, root, key, table, names), _rows(database, dicts, root, key, table, names)
        assert len(got) == len(want) > 0, table
        # the first few differing cells: (row, arrow, dicts)
        diffs = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        assert not diffs, (table, names, diffs[:3])


def _load(database, pipeline, records):
    layout = NestedLayout("orders", "id")
    resource = dlt.resource(layout.items(records), name="orders", write_disposition="merge", primary_key="id")
    info = pipeline.run(resource)
    prune_replaced_children(database, "merge_arrow", "orders", list(info.loads_ids))


def test_a_changed_record_replaces_all_its_child_rows(database):
    with database.cursor() as cur:
        cur.execute("drop schema if exists merge_arrow cascade")
    pipeline = _pipeline(database, "merge_arrow")
    pipeline.drop()
    pipeline = _pipeline(database, "merge_arrow")
    _load(database, pipeline, [{"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}], "tags": ["x", "y"]},
                               {"id": 2, "lines": [{"sku": "c"}], "tags": ["z"]},
                               {"id": 3, "lines": [{"sku": "d"}]}])
    assert scalar(database, "select count(*) from merge_arrow.orders__lines") == 4
    # 1 loses a line, 2 loses every line and tag (an empty list brings no rows to merge)
    _load(database, pipeline, [{"id": 1, "lines": [{"sku": "a2"}], "tags": ["x"]},
                               {"id": 2, "lines": [], "tags": []}])
    with database.cursor() as cur:
        cur.execute("select o.id, l.sku from merge_arrow.orders__lines as l "
                    "inner join merge_arrow.orders as o on o._dlt_id = l._dlt_root_id order by 1, 2")
        assert cur.fetchall() == [(1, "a2"), (3, "d")]
        cur.execute("select value from merge_arrow.orders__tags order by 1")
        assert cur.fetchall() == [("x",)]
    assert scalar(database, "select count(*) from merge_arrow.orders") == 3


def test_a_value_that_does_not_fit_its_column_lands_in_a_variant_column():
    layout = NestedLayout("orders", "id")
    layout.tables([{"id": 1, "qty": 2}])
    page = layout.tables([{"id": 2, "qty": "two"}, {"id": 3, "qty": 3}])["orders"]
    assert page.column("qty").to_pylist() == [None, 3]
    assert page.column("qty__v_text").to_pylist() == ["two", None]


def test_a_dataset_in_the_old_nested_layout_is_reloaded_in_full_once(database, monkeypatch):
    from ingest.pipeline import make_pipeline
    from ingest.sync import sync_source

    monkeypatch.setenv("SEAMLINE_SCHEMA_PREFIX", "relayout_")
    pipeline = make_pipeline("woocommerce", database)
    pipeline.drop()

    @dlt.source(name="woocommerce")
    def before():  # orders as an earlier version loaded them: dicts, dlt nested child tables
        return dlt.resource([{"id": 1, "line_items": [{"id": 10, "total": "1.00"}]}], name="orders",
                            write_disposition="merge", primary_key="id")

    make_pipeline("woocommerce", database).run(before())
    world = World(seed=8, scale=100, start=START)
    with serve_world(world):
        result = sync_source("woocommerce", db=database)
    assert result.ok, result.message
    assert scalar(database, "select count(*) from relayout_raw_woocommerce.orders") == len(world.woocommerce.orders)
    assert scalar(database, "select count(*) from relayout_raw_woocommerce.orders where id = 1") == 0
    assert scalar(database, "select count(*) from relayout_raw_woocommerce.orders__line_items") == sum(
        len(o.lines) for o in world.woocommerce.orders.values())
    assert scalar(database, "select count(*) from relayout_ops.refresh_pending where source = 'woocommerce'") == 1
    assert "parent" not in make_pipeline("woocommerce", database).default_schema.tables["orders__line_items"]


# -- the column walk (ingest/columnwise.py) against the row walk it stands in for ----------------------
def _row_wise_tables(records: list[dict], pages: int = 1) -> dict:
    """NestedLayout.tables as the record-by-record walk gives them (the fallback path)."""
    from ingest import columnwise

    def refuse(self, *args):
        raise columnwise.Irregular("the row walk, for comparison")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columnwise.ColumnWalk, "run", refuse)
        layout = NestedLayout("orders", "id")
        return [layout.tables(records) for _ in range(pages)][-1]


def _assert_same_tables(got: dict, want: dict) -> None:
    assert list(got) == list(want)  # tables in the order dlt would create them
    for name in want:
        assert got[name].schema == want[name].schema, name  # columns in order, types, nullability
        assert got[name].to_pylist() == want[name].to_pylist(), name  # values and _dlt_ids


def _random_value(r, depth: int):
    pick = r.random()
    if depth > 3 or pick < 0.55:
        return r.choice([None, 1, -5, 2.25, "s", "", True, "2026-01-02T03:04:05", "2026-01-02T03:04:05Z", "12.50"])
    if pick < 0.75:
        return _random_dict(r, depth + 1)
    items = [_random_dict(r, depth + 1) if r.random() < 0.6 else r.choice([None, {}, 3, "z", [1, 2]])
             for _ in range(r.choice([0, 0, 1, 2, 3]))]
    return items if r.random() < 0.5 else [i for i in items if isinstance(i, dict)]


def _random_dict(r, depth: int) -> dict:
    keys = r.sample(["a", "b", "c", "value", "items", "tags", "meta", "when", "Zeta"], r.randint(0, 4))
    return {key: _random_value(r, depth) for key in keys}


def _random_page(seed: int) -> list[dict]:
    """Records whose keys, key order, types and nesting vary from record to record."""
    import random

    r = random.Random(seed)
    shared = r.sample(["a", "b", "c", "items", "tags", "meta"], 3) if r.random() < 0.5 else None
    page = []
    for i in range(r.randint(1, 12)):
        if shared and r.random() < 0.8:
            record = {"id": i, **{key: _random_value(r, 1) for key in shared}}
        else:
            record = {"id": i, **_random_dict(r, 0)}
            if r.random() < 0.3:
                record = dict(sorted(record.items(), key=lambda _: r.random()))
        page.append(record)
    return page


REGULAR_PAGES = {
    "flat": [{"id": 1, "a": "x", "n": 1}, {"id": 2, "a": "y", "n": 2}],
    # a column first seen in a later record goes after _dlt_id, as the row walk creates it
    "late columns": [{"id": 1, "a": None, "b": {"c": None}}, {"id": 2, "a": 1, "b": {"c": "z", "d": 2}}],
    "key order differs": [{"id": 1, "b": 1, "a": 2}, {"a": 3, "id": 2, "c": 4}],
    "scalar, dict and list under one key": [{"id": 1, "v": "text"}, {"id": 2, "v": {"x": 1, "y": [1, 2]}},
                                            {"id": 3, "v": [{"x": 2}]}, {"id": 4, "v": {}}],
    "lists of scalars, dicts, None and lists": [{"id": 1, "tags": ["a", None, "b"], "lines": []},
                                                {"id": 2, "tags": [[1, 2]], "lines": [{}, None, {"sku": "s"}]}],
    "grandchildren": [{"id": 1, "lines": [{"sku": "a", "taxes": [{"t": 1}, {"t": 2}]}, {"sku": "b", "taxes": []}]},
                      {"id": 2, "lines": [{"sku": "c", "taxes": [{"t": 3, "x": {"deep": [7]}}]}]}],
    "an empty list creates its table first": [{"id": 1, "b": [], "a": [{"x": 1}]}, {"id": 2, "b": [{"y": 1}]}],
    "each record its own keys": [{"id": i, "props": {f"k{i}": i, f"k{i + 1}": str(i)}} for i in range(12)],
}


@pytest.mark.parametrize("page", REGULAR_PAGES.values(), ids=REGULAR_PAGES.keys())
def test_the_column_walk_lays_out_a_page_as_the_row_walk_does(page):
    from ingest.columnwise import ColumnWalk

    ColumnWalk(NamingConvention().normalize_identifier).run("orders", page, ["id"] * len(page))  # no fallback
    _assert_same_tables(NestedLayout("orders", "id").tables(page), _row_wise_tables(page))


def test_the_column_walk_lays_out_random_pages_as_the_row_walk_does():
    from ingest.columnwise import ColumnWalk, Irregular

    walked = 0
    for seed in range(300):
        page = _random_page(seed)
        try:
            ColumnWalk(NamingConvention().normalize_identifier).run("orders", page, ["id"] * len(page))
            walked += 1
        except Irregular:
            pass
        layout = NestedLayout("orders", "id")
        # twice: the second page's columns take the types the first gave them
        got = [layout.tables(page) for _ in range(2)][-1]
        _assert_same_tables(got, _row_wise_tables(page, pages=2))
    assert walked > 200  # most pages took the column walk, not the fallback


def test_keys_that_normalise_alike_take_the_row_walk():
    from ingest.columnwise import ColumnWalk, Irregular

    page = [{"id": 1, "Value": 1, "lines": [{"value": "a"}, "b"]}, {"id": 2, "value": 2}]
    with pytest.raises(Irregular):
        ColumnWalk(NamingConvention().normalize_identifier).run("orders", page, ["id", "id"])
    tables = NestedLayout("orders", "id").tables(page)
    _assert_same_tables(tables, _row_wise_tables(page))
    assert tables["orders"].column("value").to_pylist() == [1, 2]
    assert tables["orders__lines"].column("value").to_pylist() == ["a", "b"]


def test_child_row_ids_are_dlts_digests():
    from dlt.common.utils import digest128

    from ingest.columnwise import row_ids

    parents = ["orders:1", "x" * 40, "é"]
    assert row_ids(parents, [0, 7, 12]) == [digest128(f"{p}_{i}", 10) for p, i in zip(parents, [0, 7, 12], strict=True)]


def test_timestamps_with_and_without_an_offset_in_one_column_are_read_each_on_its_own():
    page = [{"id": 1, "at": "2026-01-02T03:04:05"}, {"id": 2, "at": "2026-01-02T03:04:05+10:00"}]
    at = NestedLayout("orders", "id").tables(page)["orders"].column("at").to_pylist()
    assert at == [datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(2026, 1, 1, 17, 4, 5, tzinfo=timezone.utc)]


def test_decimals_convert_directly_as_they_would_through_text():
    from decimal import Decimal

    import pyarrow as pa

    from ingest.columnar import to_array

    kind = pa.decimal128(18, 4)
    values = [Decimal("12.30"), None, Decimal("-0.00005"), Decimal("0.00015"), Decimal("99999999999999.9999"),
              Decimal("1.12345"), Decimal("7")]  # ties round to even
    direct = to_array(values, kind, "t.c")
    through_text = to_array([None if v is None else str(v) for v in values], kind, "t.c", text=True)
    assert direct.equals(through_text)
    assert direct.to_pylist() == [Decimal("12.3000"), None, Decimal("-0.0000"), Decimal("0.0002"),
                                  Decimal("99999999999999.9999"), Decimal("1.1234"), Decimal("7.0000")]


def test_remembered_typed_dict_hints_are_dlts_and_still_validate():
    """dlt_defaults() resolves each TypedDict's hints once; dlt's schema checks keep working."""
    import typing_extensions
    from dlt.common import validation
    from dlt.common.schema.typing import TTableSchema
    from dlt.common.validation import DictValidationException, validate_dict

    dlt_defaults()
    first = validation.get_type_hints(TTableSchema)
    assert first == typing_extensions.get_type_hints(TTableSchema)
    first.clear()  # a caller's copy: the remembered hints are not touched
    assert validation.get_type_hints(TTableSchema) == typing_extensions.get_type_hints(TTableSchema)
    validate_dict(TTableSchema, {"name": "orders", "columns": {}}, "ok")
    with pytest.raises(DictValidationException):
        validate_dict(TTableSchema, {"name": "orders", "no_such_hint": 1}, "bad")
    with pytest.raises(DictValidationException):
        validate_dict(TTableSchema, {"name": 42}, "bad type")
