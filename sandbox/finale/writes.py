"""Writes through the Finale API: creating a sales (or purchase) order with `POST /order`.

Finale answers some failed writes with HTTP 200 and an error body (api-contracts.md). The sandbox
does so for every refused order: `FinaleRefused` carries the body the API sends with status 200,
`{"errorCode": "...", "errorMessage": "...", "orderId": <as sent or null>}` and no `orderUrl`: a
client must look at the body, not only the status. Finale's exact error body is unverified; this
shape is the sandbox's documented choice. Codes: INVALID_REQUEST, INVALID_ORDER_TYPE,
DUPLICATE_ORDER_ID, INVALID_STATUS, INVALID_DATE, NO_ITEMS, UNKNOWN_PRODUCT, INVALID_QUANTITY,
INVALID_PRICE, UNKNOWN_FACILITY, UNKNOWN_PARTY.

A created order is stamped createdDate = lastUpdatedDate = the world's clock now, so it shows in
the `order` collection's next lastUpdatedDate window. A committed (ORDER_LOCKED) sales order is
shipped by the warehouse on a later advance like any other; ORDER_CREATED ones wait.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from sandbox.finale.store import API_PATH, FinaleStore, FinOrder, FinOrderItem

TYPES = ("SALES_ORDER", "PURCHASE_ORDER")
CREATE_STATUSES = ("ORDER_CREATED", "ORDER_LOCKED")


class FinaleRefused(Exception):
    def __init__(self, code: str, message: str, order_id=None):
        super().__init__(message)
        self.body = {"errorCode": code, "errorMessage": message, "orderId": order_id}


def _tail(value, kind: str) -> str | None:
    """The id at the end of a Finale URL ("/acct/api/facility/100000" -> "100000"), or the value itself."""
    if value is None:
        return None
    text = str(value).strip()
    prefix = f"{API_PATH}/{kind}/"
    return text[len(prefix):] if text.startswith(prefix) else (text if "/" not in text else None)


def _date(raw, field: str, order_id) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        text = str(raw).strip().replace("Z", "+00:00")
        dt = datetime.fromisoformat(text if len(text) > 10 else f"{text}T00:00:00")
    except ValueError:
        raise FinaleRefused("INVALID_DATE", f"{field} '{raw}' is not a date (use ISO 8601).", order_id) from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)


def _decimal(raw, code: str, message: str, order_id) -> Decimal:
    if isinstance(raw, bool):
        raise FinaleRefused(code, message, order_id)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise FinaleRefused(code, message, order_id) from None
    if not value.is_finite():
        raise FinaleRefused(code, message, order_id)
    return value


def create_order(store: FinaleStore, order: dict) -> str:
    """Check and save one new order; returns its orderId."""
    if not isinstance(order, dict):
        raise FinaleRefused("INVALID_REQUEST", "The request body must be a JSON object (one order).")
    order_id = order.get("orderId")
    oid = None if order_id in (None, "") else str(order_id).strip()
    type_id = order.get("orderTypeId")
    if type_id not in TYPES:
        raise FinaleRefused("INVALID_ORDER_TYPE", f"orderTypeId must be one of {', '.join(TYPES)}.", order_id)
    if oid is not None and oid in store.orders:
        raise FinaleRefused("DUPLICATE_ORDER_ID", f"An order with orderId {oid} already exists.", order_id)
    status = order.get("statusId") or "ORDER_CREATED"
    if status not in CREATE_STATUSES:
        raise FinaleRefused("INVALID_STATUS", f"A new order's statusId must be one of {', '.join(CREATE_STATUSES)}.",
                            order_id)
    now = store.world.clock.now()
    order_date = _date(order.get("orderDate"), "orderDate", order_id) or now
    sale = type_id == "SALES_ORDER"
    due = _date(order.get("shipDate" if sale else "receiveDate"), "shipDate" if sale else "receiveDate", order_id)
    facility_field = "originFacilityUrl" if sale else "destinationFacilityUrl"
    facility = _tail(order.get(facility_field), "facility") if order.get(facility_field) else "100000"
    if facility not in store.facilities:
        raise FinaleRefused("UNKNOWN_FACILITY", f"{facility_field} {order.get(facility_field)} is not a facility.",
                            order_id)
    items_raw = order.get("orderItemList")
    if not isinstance(items_raw, list) or not items_raw:
        raise FinaleRefused("NO_ITEMS", "orderItemList must hold at least one item.", order_id)
    by_internal = {str(p.internal_id): sku for sku, p in store.products.items()}
    items = []
    for n, raw in enumerate(items_raw, 1):
        if not isinstance(raw, dict):
            raise FinaleRefused("INVALID_REQUEST", f"orderItemList item {n} must be an object.", order_id)
        sku = raw.get("productId")
        if sku is None and raw.get("productUrl"):
            sku = by_internal.get(_tail(raw["productUrl"], "product") or "")
        if sku not in store.products:
            raise FinaleRefused("UNKNOWN_PRODUCT", f"Unknown productId {sku!r} in orderItemList item {n}.", order_id)
        quantity = _decimal(raw.get("quantity"), "INVALID_QUANTITY", f"quantity of item {n} must be a number.",
                            order_id)
        if quantity <= 0:
            raise FinaleRefused("INVALID_QUANTITY", f"quantity of item {n} must be more than zero.", order_id)
        product = store.products[sku]
        price = raw.get("unitPrice")
        price = (product.price if sale else product.cost) if price is None else _decimal(
            price, "INVALID_PRICE", f"unitPrice of item {n} must be a number.", order_id)
        if price < 0:
            raise FinaleRefused("INVALID_PRICE", f"unitPrice of item {n} cannot be negative.", order_id)
        items.append(FinOrderItem(sku, quantity, price))
    party = ""
    roles = order.get("orderRoleList") or []
    if not isinstance(roles, list):
        raise FinaleRefused("INVALID_REQUEST", "orderRoleList must be a list.", order_id)
    for role in roles:
        pid = _tail(role.get("partyId") or role.get("partyUrl"), "partygroup") if isinstance(role, dict) else None
        if pid not in store.parties:
            raise FinaleRefused("UNKNOWN_PARTY", f"orderRoleList names an unknown party {pid!r}.", order_id)
        party = party or pid
    if oid is None:  # Finale numbers orders itself (no draw from the world's random stream)
        store._next_order += 1
        while str(store._next_order) in store.orders:
            store._next_order += 1
        oid = str(store._next_order)
    store.orders[oid] = FinOrder(oid, type_id, status, party, facility, order_date,
                                 due or order_date + timedelta(days=1), items, now, now)
    store.api_orders.append(oid)
    store.version += 1
    return oid
