"""Finale Inventory JSON: one row per record here; the API turns a collection COLUMN-MAJOR.

Dates are UTC without an offset ("2026-10-05T03:12:44"); money and quantities are JSON numbers;
related records are referenced by Finale URLs ("/redhillfresh/api/facility/100000"). A product's
`productUrl` uses Finale's internal number, not its `productId` (the SKU).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sandbox.finale.store import (
    API_PATH,
    FinaleStore,
    FinFacility,
    FinOrder,
    FinParty,
    FinProduct,
    FinShipment,
)

FACILITY_ADDRESSES = {
    "100000": ("12 Industrial Dr", "Dromana", "3936"),
    "100001": ("141 Shoreham Rd", "Red Hill", "3937"),
    "100002": ("88 Main St", "Mornington", "3931"),
}
NEW_COLUMNS = {  # drift=new_field: the column each collection gains
    "product": ("userFieldDataList", []),
    "order": ("userFieldDataList", []),
    "shipment": ("carrierPartyUrl", None),
    "partygroup": ("userFieldDataList", []),
    "facility": ("shippingEnabled", True),
    "inventoryitem": ("quantityAvailable", None),
}


def date(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def num(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def url(kind: str, ident) -> str:
    return f"{API_PATH}/{kind}/{ident}"


def product_url(store: FinaleStore, sku: str) -> str:
    return url("product", store.products[sku].internal_id)


def render_facility(store: FinaleStore, f: FinFacility) -> dict:
    line1, city, postcode = FACILITY_ADDRESSES.get(f.id, ("", "", ""))
    return {
        "facilityId": f.id, "facilityUrl": url("facility", f.id), "facilityName": f.name,
        "facilityTypeId": f.type_id, "parentFacilityUrl": None, "statusId": "FACILITY_ACTIVE",
        "address": {"address1": line1, "city": city, "postalCode": postcode, "stateProvinceGeoId": "VIC",
                    "countryGeoId": "AUS"},
        "createdDate": date(f.created), "lastUpdatedDate": date(f.updated),
    }


def render_product(store: FinaleStore, p: FinProduct) -> dict:
    return {
        "productId": p.sku, "productUrl": url("product", p.internal_id), "internalName": p.description,
        "statusId": p.status, "category": p.item.category, "quantityUomId": p.uom,
        "normalizedPackingString": f"{p.case_qty}/1",
        "priceList": [{"productPriceTypeId": "LIST_PRICE", "price": num(p.price), "currencyUomId": "AUD"}],
        "cost": num(p.cost),
        "supplierList": [{"supplierPartyUrl": url("partygroup", p.supplier_id), "supplierProductId": f"{p.sku}-S",
                          "supplierPrefOrderId": "10_MAIN_SUPPL", "supplierPrice": num(p.cost)}],
        "reorderGuidelineList": [{"facilityUrl": url("facility", fid), "reorderPoint": point,
                                  "reorderQuantity": quantity} for fid, (point, quantity) in p.reorder.items()],
        "createdDate": date(p.created), "lastUpdatedDate": date(p.updated),
    }


def render_partygroup(store: FinaleStore, p: FinParty, bad: bool = False) -> dict:
    contacts = [] if bad else [{"contactMechTypeId": "EMAIL_ADDRESS", "infoString": p.email}]
    contacts.append({"contactMechTypeId": "TELECOM_NUMBER", "infoString": p.phone})
    return {
        "partyId": p.id, "partyUrl": url("partygroup", p.id), "groupName": p.name, "roleTypeIdList": [p.role],
        "statusId": "PARTY_ENABLED", "contactMechList": contacts,
        "createdDate": date(p.created), "lastUpdatedDate": date(p.updated),
    }


def render_order(store: FinaleStore, o: FinOrder) -> dict:
    purchase = o.type_id == "PURCHASE_ORDER"
    return {
        "orderId": o.id, "orderUrl": url("order", o.id), "orderTypeId": o.type_id, "statusId": o.status,
        "orderDate": date(o.order_date), "receiveDate": date(o.due_date) if purchase else None,
        "shipDate": None if purchase else date(o.due_date),
        "originFacilityUrl": None if purchase else url("facility", o.facility_id),
        "destinationFacilityUrl": url("facility", o.facility_id) if purchase else None,
        "orderRoleList": [{"roleTypeId": "SUPPLIER" if purchase else "CUSTOMER", "partyId": o.party_id}]
        if o.party_id else [],  # an order created through the API may name no party
        "orderItemList": [{"productId": i.sku, "productUrl": product_url(store, i.sku), "quantity": num(i.quantity),
                           "unitPrice": num(i.unit_price)} for i in o.items],
        "shipmentUrlList": [url("shipment", s) for s in o.shipment_ids],
        "createdDate": date(o.created), "lastUpdatedDate": date(o.updated),
    }


def render_shipment(store: FinaleStore, s: FinShipment) -> dict:
    purchase = s.type_id == "PURCHASE_SHIPMENT"
    facility = url("facility", s.facility_id)
    return {
        "shipmentId": s.id, "shipmentUrl": url("shipment", s.id), "shipmentTypeId": s.type_id,
        "statusId": s.status, "primaryOrderUrl": url("order", s.order_id),
        "originFacilityUrl": None if purchase else facility, "destinationFacilityUrl": facility if purchase else None,
        "shipDate": None if purchase else date(s.date), "receiveDate": date(s.date) if purchase else None,
        "shipmentItemList": [{"productId": sku, "productUrl": product_url(store, sku), "quantity": num(qty),
                              "facilityUrl": facility, "lotId": lot or None} for sku, qty, lot in s.items],
        "createdDate": date(s.created), "lastUpdatedDate": date(s.updated),
    }


def inventory_rows(store: FinaleStore, bad: bool = False) -> list[dict]:
    """One row per (product, facility, lot, order): on hand at a facility/lot, on order from committed
    purchase orders, reserved by committed sales orders. Only one of the three quantities is non-zero."""
    rows = []
    for key in sorted(store.stock):
        sku, fid, lot = key
        entry = store.stock[key]
        qty = -abs(entry.quantity) if bad and key in store.bad_data["inventoryitems_negative"] else entry.quantity
        rows.append(_inventory_row(store, sku, fid, lot, None, qty, 0, 0, entry.updated))
    for order in sorted(store.orders.values(), key=lambda o: o.id):
        if order.status != "ORDER_LOCKED":
            continue
        for item in order.items:
            if order.type_id == "PURCHASE_ORDER":
                rows.append(_inventory_row(store, item.sku, order.facility_id, "", order.id, 0, item.quantity, 0,
                                           order.updated))
            else:
                rows.append(_inventory_row(store, item.sku, order.facility_id, "", order.id, 0, 0, item.quantity,
                                           order.updated))
    return rows


def _inventory_row(store, sku, fid, lot, order_id, on_hand, on_order, reserved, updated) -> dict:
    product = store.products[sku]
    return {
        "productId": sku, "productUrl": url("product", product.internal_id), "facilityUrl": url("facility", fid),
        "lotId": lot or None, "normalizedPackingString": f"{product.case_qty}/1",
        "orderUrl": url("order", order_id) if order_id else None,
        "quantityOnHand": num(Decimal(on_hand)), "quantityOnOrder": num(Decimal(on_order)),
        "quantityReserved": num(Decimal(reserved)), "lastUpdatedDate": date(updated),
    }


def apply_drift(kind: str, rows: list[dict], mode: str | None) -> list[dict]:
    """Change rendered rows the way an unannounced API change would (before they turn column-major)."""
    if mode == "new_field":
        name, value = NEW_COLUMNS[kind]
        for row in rows:
            row[name] = value
    elif mode == "type_change":
        for row in rows:
            for name in ("quantityOnHand", "quantityOnOrder", "quantityReserved", "cost"):
                if isinstance(row.get(name), int | float):
                    row[name] = str(row[name])
            for sub in ("orderItemList", "shipmentItemList", "priceList"):
                for item in row.get(sub) or ():
                    for name in ("quantity", "price"):
                        if isinstance(item.get(name), int | float):
                            item[name] = str(item[name])
    elif mode == "object_to_list":
        for row in rows:
            if isinstance(row.get("address"), dict):
                row["address"] = [row["address"]]
    return rows


def column_major(rows: list[dict], columns: list[str], broken: bool = False) -> dict:
    """Finale's collection shape: one array per field, all the same length (unless `broken`)."""
    body = {c: [row.get(c) for row in rows] for c in columns}
    if broken and columns:
        victim = "lastUpdatedDate" if "lastUpdatedDate" in body else columns[0]
        if body[victim]:
            body[victim].pop()
        else:
            body[victim].append(None)
    return body
