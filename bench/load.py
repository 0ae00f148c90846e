"""load_ratio: a minimal hand-written COPY loader's time over Seamline's, on the same pages.

Both take the same WooCommerce order pages, already fetched (recorded once from the sandbox):
the ceiling parses them with orjson, builds flat order and line rows with f-strings and COPYs
them into two tables with primary keys; Seamline replays them through the production source
and pipeline into `raw_woocommerce` (orders and their child tables, merged on id).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass

import orjson

from ingest.woocommerce.helpers import WooCommerceClient


@dataclass
class _Replayed:
    content: bytes
    links: dict
    url: str = "replay"


class RecordingClient(WooCommerceClient):
    """Talks to a real (sandbox) API and keeps every page it receives, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tape: list[_Replayed] = []

    def get_json(self, url, *, resource, validate=None, **kwargs):
        body, response = super().get_json(url, resource=resource, validate=validate, **kwargs)
        self.tape.append(_Replayed(response.content, dict(response.links)))
        return body, response


class ReplayClient(WooCommerceClient):
    """Answers the same requests with the recorded pages: the network taken out, nothing else."""

    def __init__(self, tape: list[_Replayed]):
        super().__init__("http://replay", "ck", "cs")
        self._tape = iter(tape)

    def get_json(self, url, *, resource, validate=None, **kwargs):
        page = next(self._tape)
        self.stats.of(resource).api_calls += 1
        return self.parse(page.content), page


def record_order_pages(base_url: str, key: str, secret: str) -> list[_Replayed]:
    """Fetch every order page once (page numbers, oldest change first; then the trash), as the
    source would see them, each order exactly once."""
    from ingest.woocommerce.settings import PAGE_SIZE

    client = RecordingClient(base_url, key, secret)
    for status in ("any", "trash"):
        page = 1
        while True:
            params = {"status": status, "per_page": PAGE_SIZE, "page": page, "orderby": "modified",
                      "order": "asc", "dates_are_gmt": "true"}
            items, _ = client.get_page(f"{client.base_url}/orders", params, "orders")
            if len(items) < PAGE_SIZE:
                break
            page += 1
    return client.tape


ORDERS_DDL = """
drop schema if exists bench_ceiling cascade;
create schema bench_ceiling;
create table bench_ceiling.orders (id bigint primary key, number text, status text, currency text,
    total numeric(18,2), total_tax numeric(18,2), shipping_total numeric(18,2), discount_total numeric(18,2),
    customer_id bigint, billing_email text, date_created_gmt timestamptz, date_modified_gmt timestamptz);
create table bench_ceiling.order_lines (id bigint primary key, order_id bigint, product_id bigint, sku text,
    quantity bigint, price numeric(18,4), subtotal numeric(18,2), total numeric(18,2), total_tax numeric(18,2));
"""


def ceiling_load(db, pages: list[bytes]) -> float:
    """The minimal loader: orjson, f-strings, COPY. Returns seconds."""
    with db.cursor() as cur:
        cur.execute(ORDERS_DDL)
    conn = db.connect()
    started = time.perf_counter()
    orders, lines = io.StringIO(), io.StringIO()
    for page in pages:
        for o in orjson.loads(page):
            b = o["billing"]
            orders.write(f"{o['id']}\t{o['number']}\t{o['status']}\t{o['currency']}\t{o['total']}\t{o['total_tax']}\t"
                         f"{o['shipping_total']}\t{o['discount_total']}\t{o['customer_id']}\t{b['email'] or ''}\t"
                         f"{o['date_created_gmt']}Z\t{o['date_modified_gmt']}Z\n")
            for li in o["line_items"]:
                lines.write(f"{li['id']}\t{o['id']}\t{li['product_id']}\t{li['sku']}\t{li['quantity']}\t"
                            f"{li['price']}\t{li['subtotal']}\t{li['total']}\t{li['total_tax']}\n")
    with conn.cursor() as cur:
        orders.seek(0)
        lines.seek(0)
        cur.copy_expert("copy bench_ceiling.orders from stdin", orders)
        cur.copy_expert("copy bench_ceiling.order_lines from stdin", lines)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def seamline_load(db, tape: list[_Replayed]) -> float:
    """The production path: the WooCommerce source's orders resource and the dlt pipeline."""
    from ingest.pipeline import make_pipeline
    from ingest.sync import first_loads
    from ingest.woocommerce import woocommerce

    os.environ["SEAMLINE_SCHEMA_PREFIX"] = "bench_"
    try:
        pipeline = make_pipeline("woocommerce", db)
        pipeline.drop()
        pipeline = make_pipeline("woocommerce", db)
        with db.cursor() as cur:
            cur.execute("drop schema if exists bench_raw_woocommerce cascade; "
                        "drop schema if exists bench_raw_woocommerce_staging cascade")
        source = woocommerce(base_url="http://replay", consumer_key="ck", consumer_secret="cs",
                             client=ReplayClient(tape)).with_resources("orders")
        started = time.perf_counter()
        first_loads(db, "woocommerce", source, full_refresh=False)  # as ingest.sync does: the tables are new
        pipeline.run(source)
        return time.perf_counter() - started
    finally:
        os.environ.pop("SEAMLINE_SCHEMA_PREFIX", None)
