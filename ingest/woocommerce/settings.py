"""WooCommerce constants: page size, overlap, and the column types dlt must not guess."""

from datetime import timedelta

PAGE_SIZE = 100  # the API's maximum
OVERLAP = timedelta(minutes=5)



def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column, named: dlt writes names into root hints and needs them in nested ones
    return {c: {**hint, "name": c} for c in columns}


MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}
UTC_TIME = {"data_type": "timestamp", "timezone": True}
LOCAL_TIME = {"data_type": "text"}  # store-local wall time: kept verbatim, never read as UTC

ORDER_COLUMNS = {
    **_typed(MONEY, "discount_total", "discount_tax", "shipping_total", "shipping_tax", "cart_tax",
                          "total", "total_tax"),
    **_typed(UTC_TIME, "date_created_gmt", "date_modified_gmt", "date_paid_gmt", "date_completed_gmt",
                             "deleted_seen_at"),
    **_typed(LOCAL_TIME, "date_created", "date_modified", "date_paid", "date_completed"),
    "is_deleted": {"data_type": "bool"},
}
CUSTOMER_COLUMNS = {
    **_typed(UTC_TIME, "date_created_gmt", "date_modified_gmt"),
    **_typed(LOCAL_TIME, "date_created", "date_modified"),
}
PRODUCT_COLUMNS = {
    **_typed(MONEY, "price", "regular_price"),
    "sale_price": {"data_type": "text"},
    **_typed(UTC_TIME, "date_created_gmt", "date_modified_gmt"),
    **_typed(LOCAL_TIME, "date_created", "date_modified"),
}

UNIT_PRICE = {"data_type": "decimal", "precision": 18, "scale": 4}

# money inside the nested lines: totals arrive as strings, but line `price` is a JSON number
ORDER_NESTED_HINTS = {
    "line_items": {"columns": {**_typed(MONEY, "subtotal", "subtotal_tax", "total", "total_tax"),
                               **_typed(UNIT_PRICE, "price")}},
    "tax_lines": {"columns": _typed(MONEY, "tax_total", "shipping_tax_total")},
    "shipping_lines": {"columns": _typed(MONEY, "total", "total_tax")},
    "fee_lines": {"columns": _typed(MONEY, "total", "total_tax")},
    "coupon_lines": {"columns": _typed(MONEY, "discount", "discount_tax")},
    "refunds": {"columns": _typed(MONEY, "total")},
}
