"""Writes through the WooCommerce REST API: order status, order notes, product stock (one or a batch).

Each function checks its request before it changes anything and raises `WooInvalid` (WordPress's
`{"code", "message", "data": {"status", ...}}`) on bad input. A change stamps date_modified with the
world's clock now, so an incremental sync (`modified_after`) finds it; nothing here draws from the
store's random stream.

Order updates take `status` (one of the seven stored statuses; other fields are ignored by the
sandbox). Moving to processing or completed sets date_paid if it was unset, completed sets
date_completed; the order is also queued for the Xero bookkeeping integration (`api_modified_rows`),
which reacts on the next advance as it does to the shop's own changes. The same status again
changes nothing (WooCommerce saves nothing when nothing changed).
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.columns import NO_TIME, from_ts
from sandbox.woocommerce.store import ORDER_STATUSES, WooStore

MAX_BATCH = 100
_CODE = {s: i for i, s in enumerate(ORDER_STATUSES)}


class WooInvalid(Exception):
    def __init__(self, code: str, message: str, status: int, **data):
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "data": {"status": self.status, **self.data}}


def _invalid_param(name: str, reason: str) -> WooInvalid:
    return WooInvalid("rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: reason},
                      details={name: {"code": "rest_invalid_type" if "type" in reason else "rest_not_in_enum",
                                      "message": reason, "data": None}})


def _row(store: WooStore, order_id) -> int:
    row = store.index_of(int(order_id)) if str(order_id).isdigit() else None
    if row is None or store._o_deleted[row]:
        raise WooInvalid("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
    return row


def update_order(store: WooStore, order_id: int, changes: dict) -> int:
    """Change an order's status; returns its row."""
    row = _row(store, order_id)
    if not isinstance(changes, dict):
        raise WooInvalid("rest_invalid_json", "Invalid JSON body passed.", 400)
    status = changes.get("status")
    if status is not None:
        if not isinstance(status, str) or status not in _CODE:
            raise _invalid_param("status", f"status is not one of {', '.join(ORDER_STATUSES[:-1])}, and "
                                           f"{ORDER_STATUSES[-1]}.")
        if _CODE[status] != store._o_status[row]:
            now = int(store.world.clock.now().timestamp())
            store._o_status[row] = _CODE[status]
            store._o_modified[row] = now
            if status in ("processing", "completed") and store._o_paid[row] == NO_TIME:
                store._o_paid[row] = now
            if status == "completed":
                store._o_completed[row] = now
            store.api_modified_rows.add(row)
            store.version += 1
    return row


def add_order_note(store: WooStore, order_id: int, note, customer_note=False, added_by_user=False) -> dict:
    """A note on an order (a private one unless `customer_note`); returns it as stored."""
    _row(store, order_id)
    if not isinstance(note, str) or not note.strip():
        raise WooInvalid("rest_missing_callback_param", "Missing parameter(s): note", 400, params=["note"])
    for name, value in (("customer_note", customer_note), ("added_by_user", added_by_user)):
        if not isinstance(value, bool):
            raise _invalid_param(name, f"{name} is not of type boolean.")
    store._note_ids += 1
    stored = {"id": store._note_ids, "order_id": int(order_id), "note": note, "customer_note": customer_note,
              "added_by_user": added_by_user, "created": int(store.world.clock.now().timestamp())}
    store.notes.setdefault(int(order_id), []).append(stored)
    return stored


def _product_changes(store: WooStore, product_id, changes) -> tuple:
    """(product, manage_stock or None, stock or None, price or None), checked."""
    product = store.products.get(int(product_id)) if str(product_id).lstrip("-").isdigit() else None
    if product is None:
        raise WooInvalid("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
    if not isinstance(changes, dict):
        raise WooInvalid("rest_invalid_json", "Invalid JSON body passed.", 400)
    manage = changes.get("manage_stock")
    if manage is not None and not isinstance(manage, bool):
        raise _invalid_param("manage_stock", "manage_stock is not of type boolean.")
    stock = changes.get("stock_quantity")
    if stock is not None and (isinstance(stock, bool) or not isinstance(stock, int)):
        if isinstance(stock, float) and stock.is_integer():
            stock = int(stock)
        elif isinstance(stock, str) and stock.strip().lstrip("-").isdigit():
            stock = int(stock)  # WordPress casts numeric strings to integers
        else:
            raise _invalid_param("stock_quantity", "stock_quantity is not of type integer.")
    price = changes.get("regular_price")
    if price is not None:
        try:
            price = Decimal(str(price)).quantize(Decimal("0.01"))
        except ArithmeticError:
            raise _invalid_param("regular_price", "regular_price is not of type string.") from None
    return product, manage, stock, price


def _apply_product(store: WooStore, product, manage, stock, price) -> None:
    changed = False
    if manage is not None and manage != product.manage_stock:
        product.manage_stock, changed = manage, True
    if stock is not None and product.manage_stock and stock != product.stock:
        product.stock, changed = stock, True  # WooCommerce ignores a quantity while stock is not managed
    if price is not None and price != product.price:
        product.price, changed = price, True
    if changed:
        product.modified = from_ts(int(store.world.clock.now().timestamp()))
        store.version += 1


def update_product(store: WooStore, product_id: int, changes: dict) -> int:
    """Set a product's manage_stock / stock_quantity / regular_price; returns its id."""
    planned = _product_changes(store, product_id, changes)
    _apply_product(store, *planned)
    return planned[0].id


def batch_products(store: WooStore, batch: dict) -> dict[str, list]:
    """`POST /products/batch` (updates only): per item, the product id, or an error body (`{"id", "error"}`)
    for the items that fail; the others are saved."""
    if not isinstance(batch, dict):
        raise WooInvalid("rest_invalid_json", "Invalid JSON body passed.", 400)
    count = sum(len(batch.get(k) or []) for k in ("create", "update", "delete") if isinstance(batch.get(k), list))
    if count > MAX_BATCH:
        raise WooInvalid("woocommerce_rest_request_entity_too_large",
                         f"Unable to accept more than {MAX_BATCH} items for this request.", 413)
    out: dict[str, list] = {}
    for kind in ("create", "delete"):
        if batch.get(kind):
            out[kind] = [{"id": item.get("id", 0) if isinstance(item, dict) else item,
                          "error": {"code": "woocommerce_rest_sandbox_unsupported",
                                    "message": f"The sandbox does not {kind} products.", "data": {"status": 400}}}
                         for item in batch[kind]]
    updates = batch.get("update") or []
    if not isinstance(updates, list):
        raise _invalid_param("update", "update is not of type array.")
    results = []
    for item in updates:
        pid = item.get("id") if isinstance(item, dict) else None
        try:
            if pid is None:
                raise WooInvalid("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
            _apply_product(store, *_product_changes(store, pid, item))
            results.append(int(pid))
        except WooInvalid as exc:
            results.append({"id": pid or 0, "error": {"code": exc.code, "message": exc.message,
                                                      "data": {"status": exc.status}}})
    out["update"] = results
    return out
