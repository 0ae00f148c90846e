"""Lightspeed X-Series API 2.0 JSON, as the real retailer account sends it.

Ids are UUIDs, timestamps ISO 8601 in UTC with an offset ("2026-10-05T03:12:44+00:00"), money and
quantities are JSON numbers (prices and taxes with up to 5 decimals). A sale's `total_price` is
tax-exclusive and `total_tax` is apart: the inclusive total is their sum (also `totals.total_payment`).
"""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timezone
from decimal import Decimal

from sandbox.columns import utc_text
from sandbox.lightspeed.store import (
    SHOP_TZ,
    LightspeedStore,
    LsCustomer,
    LsInventory,
    LsOutlet,
    LsProduct,
    LsRegister,
    LsSale,
    totals_of,
)

PAYMENT_TYPES = {"Cash": (1, 1), "Card": (2, 3)}  # name -> (retailer payment type number, payment_type_id)
UNIT_NAMES = {"kg": "kg", "g": "pack", "each": "each", "bunch": "bunch"}

# drift=new_field: the field each record gains (sales: the 2025-05 `ecom_custom_charges` addition)
NEW_FIELDS = {
    "sales": ("ecom_custom_charges", {"total": 0, "total_tax": 0, "total_incl": 0, "charges": []}),
    "customers": ("loyalty_tier", "Standard"),
    "products": ("product_codes", []),
    "inventory": ("safety_stock", 0),
    "outlets": ("tax_region", "AU"),
    "registers": ("cash_managed_payment_type_id", None),
}
# drift=type_change: numbers that arrive as strings
TYPE_CHANGES = {
    "sales": ("total_price", "total_tax"),
    "customers": ("balance", "loyalty_balance"),
    "products": ("price_including_tax", "price_excluding_tax", "supply_price"),
    "inventory": ("inventory_level", "current_amount"),
    "outlets": (),
    "registers": ("invoice_sequence",),
}
# drift=object_to_list: a nested object that arrives as a list
OBJECT_TO_LIST = {"sales": "totals", "products": "type"}


def ts(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _utc(epoch: int) -> str:
    """`ts(from_ts(epoch))`, without making a datetime."""
    return f"{utc_text(epoch)}+00:00"


def num(value: Decimal) -> float | int:
    """A Decimal as the JSON number Lightspeed sends (integers without a fraction)."""
    return int(value) if value == value.to_integral_value() else float(value)


_LINE_NUMBERS: dict[tuple, tuple] = {}


def _line_numbers(price: Decimal, tax: Decimal, cost: Decimal, quantity: int) -> tuple:
    """(price, price x quantity, tax, tax x quantity, cost, cost x quantity) as JSON numbers.

    Lines repeat a few hundred (price, tax, cost, quantity) combinations: worked out once each."""
    key = (price, tax, cost, quantity)
    numbers = _LINE_NUMBERS.get(key)
    if numbers is None:
        if len(_LINE_NUMBERS) > 50_000:
            _LINE_NUMBERS.clear()
        numbers = _LINE_NUMBERS[key] = (num(price), num(price * quantity), num(tax), num(tax * quantity),
                                        num(cost), num(cost * quantity))
    return numbers


def _tax_ids(store: LightspeedStore, gst: bool) -> str:
    return store.uid("taxes", 1 if gst else 2)


def render_outlet(store: LightspeedStore, o: LsOutlet) -> dict:
    return {
        "id": store.uid("outlets", o.id), "name": o.name, "default_tax_id": _tax_ids(store, False),
        "currency": "AUD", "currency_symbol": "$", "display_prices": "inclusive",
        "time_zone": str(SHOP_TZ), "physical_address_1": o.address.line1, "physical_address_2": None,
        "physical_suburb": o.address.city, "physical_city": o.address.city,
        "physical_postcode": o.address.postcode, "physical_state": o.address.state,
        "physical_country_id": o.address.country, "email": f"{o.code.lower()}@redhillfresh.com.au",
        "phone": "03 5989 " + str(2000 + o.id * 111), "attributes": [],
        "deleted_at": None, "version": o.version,
    }


def render_register(store: LightspeedStore, r: LsRegister) -> dict:
    return {
        "id": store.uid("registers", r.id), "name": r.name, "outlet_id": store.uid("outlets", r.outlet_id),
        "ask_for_note_on_save": 0, "print_note_on_receipt": False, "ask_for_user_on_sale": False,
        "show_discounts_on_receipts": True, "print_receipt": True, "email_receipt": False,
        "invoice_prefix": r.prefix, "invoice_suffix": "", "invoice_sequence": r.invoice_sequence,
        "button_layout_id": None, "is_open": True, "register_open_time": ts(r.created),
        "register_close_time": None, "deleted_at": None, "version": r.version,
    }


def render_product(store: LightspeedStore, p: LsProduct) -> dict:
    item = p.item
    handle = re.sub(r"[^a-z0-9]+", "", p.name.lower())
    unit = UNIT_NAMES[item.unit]
    category_id = store.uid("product_types", zlib.crc32(item.category.encode()))
    return {
        "id": store.uid("products", p.id), "source_id": None, "variant_source_id": None, "handle": handle,
        "has_variants": False, "variant_parent_id": None, "name": p.name, "variant_name": p.name,
        "sku": item.sku, "supplier_code": None, "active": p.deleted is None, "is_active": p.deleted is None,
        "has_inventory": True, "is_composite": False, "description": "", "image_url": None,
        "created_at": ts(p.created), "updated_at": ts(p.updated), "deleted_at": ts(p.deleted), "source": "USER",
        "account_code": None, "account_code_purchase": None, "supply_price": num(p.supply_price),
        "version": p.version, "type": {"id": category_id, "name": item.category}, "supplier": None,
        "brand": None, "variant_options": [{"id": store.uid("variant_attributes", 1), "name": "Unit", "value": unit}],
        "categories": [{"id": category_id, "name": item.category}], "images": [], "tag_ids": [],
        "attributes": [], "tax_id": _tax_ids(store, item.gst),
        "price_including_tax": num(p.price_incl), "price_excluding_tax": num(p.price_excl),
    }


def render_customer(store: LightspeedStore, c: LsCustomer, bad: bool = False) -> dict:
    a = c.address
    return {
        "id": store.uid("customers", c.id), "customer_code": c.code, "name": f"{c.first_name} {c.last_name}",
        "first_name": c.first_name, "last_name": c.last_name, "email": None if bad else c.email,
        "balance": 0, "loyalty_balance": 0, "note": c.note or None, "gender": None, "date_of_birth": None,
        "company_name": None, "do_not_email": c.email is None, "phone": c.phone or None,
        "mobile": c.mobile or None, "fax": None, "twitter": None, "website": None,
        "physical_address_1": a.line1, "physical_address_2": None, "physical_suburb": a.city,
        "physical_city": None, "physical_postcode": a.postcode, "physical_state": a.state,
        "physical_country_id": a.country, "postal_address_1": None, "postal_address_2": None,
        "postal_suburb": None, "postal_city": None, "postal_postcode": None, "postal_state": None,
        "postal_country_id": None, "customer_group_id": store.uid("customer_groups", 1), "enable_loyalty": True,
        "created_at": ts(c.created), "updated_at": ts(c.updated), "deleted_at": ts(c.deleted),
        "version": c.version,
    }


def render_inventory(store: LightspeedStore, i: LsInventory) -> dict:
    product = store.products[i.product_id]
    return {
        "id": store.uid("inventory", i.id), "product_id": store.uid("products", i.product_id),
        "outlet_id": store.uid("outlets", i.outlet_id), "inventory_level": i.level, "current_amount": i.level,
        "reorder_point": i.reorder_point, "reorder_amount": i.reorder_amount,
        "average_cost": num(product.supply_price), "deleted_at": None, "version": i.version,
    }


def render_sale(store: LightspeedStore, s: LsSale, negative_quantity: bool = False, bad_totals: bool = False) -> dict:
    sale_lines = s.lines
    totals = totals_of(sale_lines)
    voided = s.status == "VOIDED"
    lines = []
    sale_id = s.id
    for seq, line in enumerate(sale_lines):
        product = store.products[line.product_id]
        quantity = -abs(line.quantity) if negative_quantity and seq == 0 else line.quantity
        price, price_total, tax, tax_total, cost, cost_total = _line_numbers(line.price, line.tax,
                                                                              product.supply_price, quantity)
        tax_id = _tax_ids(store, line.tax != 0)
        lines.append({
            "id": store.uid("line_items", sale_id * 16 + seq), "product_id": store.uid("products", line.product_id),
            "tax_id": tax_id, "sequence": seq, "quantity": quantity,
            "price": price, "price_total": price_total,
            "tax": tax, "tax_total": tax_total,
            "discount": 0, "discount_total": 0, "cost": cost, "cost_total": cost_total,
            "loyalty_value": 0, "price_set": False, "status": "VOIDED" if voided else "CONFIRMED",
            "is_return": line.quantity < 0, "note": None,
            "unit_price": price, "unit_tax": tax, "unit_discount": 0, "unit_cost": cost,
            "total_price": price_total, "total_tax": tax_total,
            "total_discount": 0, "total_cost": cost_total,
            "tax_components": [{"rate_id": tax_id, "total_tax": tax_total}],
        })
    register = store.registers[s.register_id]
    invoice = store.invoice_number(s)
    sale_payments = s.payments_of(totals["total_incl"], with_dates=False)
    paid_at = _utc(s.paid_ts)
    register_uid = store.uid("registers", s.register_id)
    payments = [{
        "id": store.uid("payments", sale_id * 4 + n), "register_id": register_uid,
        "retailer_payment_type_id": store.uid("payment_types", PAYMENT_TYPES[p.kind][0]),
        "payment_type_id": PAYMENT_TYPES[p.kind][1], "name": p.kind, "amount": num(p.amount),
        "payment_date": paid_at, "deleted_at": None,
    } for n, p in enumerate(sale_payments)]
    paid = sum((p.amount for p in sale_payments), Decimal(0))
    total_price = totals["total_price"] + (Decimal("1.00") if bad_totals else 0)
    return {
        "id": store.uid("sales", sale_id), "outlet_id": store.uid("outlets", s.outlet_id),
        "register_id": register_uid, "user_id": store.uid("users", register.id),
        "customer_id": store.uid("customers", s.customer_id) if s.customer_id else None,
        "invoice_number": invoice, "invoice_sequence": s.invoice_sequence, "receipt_number": invoice, "status": s.status, "state": "voided" if voided else "closed",
        "note": s.note, "short_code": store.uid("short_codes", sale_id)[:6],
        "return_for": store.uid("sales", s.return_for) if s.return_for else None,
        "total_price": num(total_price), "total_tax": num(totals["total_tax"]), "total_loyalty": 0,
        "created_at": _utc(s.created_ts), "updated_at": _utc(s.updated_ts), "sale_date": _utc(s.sale_date_ts),
        "deleted_at": ts(s.deleted), "version": s.version, "source": "USER", "source_id": None,
        "line_items": lines, "payments": payments, "adjustments": [],
        "taxes": [{"id": _tax_ids(store, True), "amount": num(totals["total_tax"])}] if totals["total_tax"] else [],
        "totals": {"total_price": num(total_price), "total_tax": num(totals["total_tax"]),
                   "total_payment": num(paid), "total_to_pay": num(totals["total_incl"] - paid)},
        "external_applications": [],
    }


def apply_drift(kind: str, record: dict, mode: str | None) -> dict:
    """Change a rendered record's shape the way an unannounced API change would."""
    if mode == "new_field":
        name, value = NEW_FIELDS[kind]
        record[name] = value
    elif mode == "type_change":
        for name in TYPE_CHANGES[kind]:
            if isinstance(record.get(name), int | float):
                record[name] = f"{record[name]:.5f}"
        if kind == "sales":
            for line in record["line_items"]:
                line["quantity"] = str(line["quantity"])
                line["price"] = f"{line['price']:.5f}"
    elif mode == "object_to_list" and kind in OBJECT_TO_LIST:
        name = OBJECT_TO_LIST[kind]
        value = record.get(name)
        if isinstance(value, dict):
            record[name] = [{"name": k, "value": v} for k, v in value.items()] if kind == "sales" else [value]
    return record
