"""WooCommerce-specific faults: a host's 429s, schema drift and bad data.

Bad data is chosen by order id, so which orders are bad is ground truth a test can ask for
(`bad_orders`) before it syncs.
"""

from __future__ import annotations

from decimal import Decimal

from sandbox.http import json_response

# every Nth order carries one defect
BAD_EVERY = {"missing_email": 41, "negative_quantity": 53, "total_mismatch": 67}


def bad_kind(order_id: int) -> str | None:
    for kind, every in BAD_EVERY.items():
        if order_id % every == 0:
            return kind
    return None


def bad_orders(store) -> dict[int, str]:
    """Ground truth: which orders the bad_data fault corrupts, and how."""
    return {oid: kind for oid in store.orders if (kind := bad_kind(oid))}


def apply_bad_data(order: dict) -> dict:
    kind = bad_kind(order["id"])
    if kind == "missing_email":
        order["billing"]["email"] = ""
    elif kind == "negative_quantity" and order["line_items"]:
        order["line_items"][0]["quantity"] = -order["line_items"][0]["quantity"]
    elif kind == "total_mismatch":
        order["total"] = f"{Decimal(order['total']) + Decimal('1.00'):.2f}"
    return order


def apply_drift(order: dict, drift: str) -> dict:
    if drift == "new_field":
        order["delivery_slot"] = {"date": order["date_created"][:10], "window": "AM"}
        order["fulfilment_partner"] = "Peninsula Couriers"
    elif drift == "type_change":
        order["total"] = float(order["total"])  # a plugin starts sending money as numbers
        order["customer_id"] = f"C-{order['customer_id']}"  # and ids as prefixed strings
    elif drift == "object_to_list":
        order["shipping"] = [order["shipping"]]  # multi-address shipping: one object becomes a list
    return order


class HostRateLimit:
    """WooCommerce has no limits of its own; hosts and security plugins answer 429 with Retry-After."""

    def __init__(self, every: int = 4, retry_after: int = 1):
        self.every = every
        self.retry_after = retry_after
        self.count = 0

    def check(self):
        self.count += 1
        if self.count % self.every == 0:
            return json_response({"code": "rest_too_many_requests", "message": "Too many requests.",
                                  "data": {"status": 429}}, 429, headers={"Retry-After": str(self.retry_after)})
        return None
