"""Stock on hand -> WooCommerce product stock, in batches of up to 100 (products/batch).

Which side wins is SEAMLINE_STOCK_AUTHORITY (default `finale`): Finale's warehouse stock on hand
is what the store shows, and the store's sales reach Finale as sales orders (finale_sales_orders),
so Finale's count already takes them off. `woocommerce` leaves the store's stock alone (the
model is empty). Setting a quantity is idempotent; the key carries the target quantity, so a
new level is a new write and a repeat of the same level is skipped.
"""

from __future__ import annotations

from outbound.clients import send_json
from outbound.writer import Context, Job, Rejected, Sent

BATCH = 100


class WooCommerceStock(Job):
    name = "woocommerce_stock"
    vendor = "woocommerce"
    model = "outbound_woocommerce_stock"
    local_key_column = "sku"
    batch_size = BATCH

    def version(self, row: dict) -> str:
        return str(row["target_stock"])

    def summary(self, row: dict) -> dict:
        return {"sku": row["sku"], "product_id": row["product_id"], "from": row["woocommerce_stock"],
                "to": row["target_stock"], "authority": row["stock_authority"]}

    def send_batch(self, ctx: Context, batch: list[tuple[dict, str]]) -> list[Sent | Rejected]:
        updates = [{"id": row["product_id"], "stock_quantity": row["target_stock"], "manage_stock": True}
                   for row, _ in batch]
        try:
            status, answer = send_json(ctx.client("woocommerce"), "woocommerce", "POST", "products/batch",
                                       {"update": updates}, resource="products")
        except Rejected as exc:
            return [exc for _ in batch]
        # the answer lists the updated products in order; a failed one carries an `error` object
        by_id = {}
        for item in (answer or {}).get("update") or []:
            if isinstance(item, dict):
                by_id[item.get("id")] = item
        out: list[Sent | Rejected] = []
        for row, _ in batch:
            item = by_id.get(row["product_id"])
            if item is None:
                out.append(Rejected(f"woocommerce: product {row['product_id']} missing from the batch answer", status))
            elif item.get("error"):
                error = item["error"]
                out.append(Rejected(f"woocommerce: {error.get('code', '')}: {error.get('message', error)}", status))
            else:
                out.append(Sent(str(row["product_id"]), status))
        return out
