"""WooCommerce constants: page size, overlap, and the column types dlt must not guess."""

from datetime import timedelta

PAGE_SIZE = 100  # the API's maximum
OVERLAP = timedelta(minutes=5)



def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column: dlt writes each column's name into its hint
    return {c: dict(hint) for c in columns}


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
