"""WooCommerce REST v3 JSON, as the real store sends it: money as strings, line prices as numbers."""

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sandbox.columns import NO_TIME, utc_text, zone_text
from sandbox.people import Address
from sandbox.woocommerce.store import WooCustomer, WooOrder, WooProduct, line_amounts, totals_of

STORE_TZ = ZoneInfo("Australia/Melbourne")
_FMT = "%Y-%m-%dT%H:%M:%S"


def gmt(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).strftime(_FMT)


def local(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(STORE_TZ).strftime(_FMT)


def _both(ts: int) -> tuple[str | None, str | None]:
    """(store-local, GMT) text of epoch seconds, as `local` and `gmt` give them."""
    if ts == NO_TIME:
        return None, None
    return zone_text(ts, STORE_TZ), utc_text(ts)


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def _address(addr: Address, first: str, last: str, email: str | None = None, phone: str = "") -> dict:
    out = {
        "first_name": first, "last_name": last, "company": "", "address_1": addr.line1, "address_2": "",
        "city": addr.city, "state": addr.state, "postcode": addr.postcode, "country": addr.country,
    }
    if email is not None:
        out["email"] = email
    out["phone"] = phone
    return out


def render_order(o: WooOrder) -> dict:
    oid = o.id
    order_lines = o.lines
    amounts = [line_amounts(o, line) for line in order_lines]
    t = totals_of(amounts)
    lines = []
    for line, a in zip(order_lines, amounts, strict=True):
        lines.append({
            "id": line.id, "name": line.name, "product_id": line.product_id, "variation_id": 0,
            "quantity": line.quantity, "tax_class": "gst" if line.gst else "zero-rate",
            "subtotal": money(a["subtotal"]), "subtotal_tax": money(a["subtotal_tax"]),
            "total": money(a["total"]), "total_tax": money(a["total_tax"]), "taxes": [], "meta_data": [],
            "sku": line.sku, "price": float(line.price),
        })
    created, created_gmt = _both(o.created_ts)
    modified, modified_gmt = _both(o.modified_ts)
    paid, paid_gmt = _both(o.paid_ts)
    completed, completed_gmt = _both(o.completed_ts)
    coupon = o.coupon
    meta = [{"id": oid * 10 + 1, "key": "_delivery_window", "value": "AM" if oid % 2 else "PM"}]
    if oid % 5 == 0:  # plugins store objects in meta values
        meta.append({"id": oid * 10 + 2, "key": "_wc_order_attribution",
                     "value": {"source_type": "organic", "utm_source": "google"}})
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_{oid:08x}",
        "created_via": "checkout", "version": "9.4.2",
        "status": "trash" if o.trashed else o.status, "currency": "AUD",
        "date_created": created, "date_created_gmt": created_gmt,
        "date_modified": modified, "date_modified_gmt": modified_gmt,
        "discount_total": money(t["discount"]), "discount_tax": money(t["discount_tax"]),
        "shipping_total": money(t["shipping"]), "shipping_tax": money(t["shipping_tax"]),
        "cart_tax": money(t["cart_tax"]), "total": money(t["total"]), "total_tax": money(t["total_tax"]),
        "prices_include_tax": False, "customer_id": o.customer_id,
        "customer_ip_address": "", "customer_user_agent": "", "customer_note": "",
        "billing": _address(o.billing, o.first_name, o.last_name, o.email, o.phone),
        "shipping": _address(o.shipping, o.first_name, o.last_name),
        "payment_method": "stripe", "payment_method_title": "Credit card",
        "transaction_id": f"ch_{oid:x}" if paid else "",
        "date_paid": paid, "date_paid_gmt": paid_gmt,
        "date_completed": completed, "date_completed_gmt": completed_gmt,
        "cart_hash": "", "meta_data": meta,
        "line_items": lines,
        "tax_lines": [{
            "id": oid * 10 + 3, "rate_code": "AU-GST-1", "rate_id": 1, "label": "GST", "compound": False,
            "tax_total": money(t["cart_tax"]), "shipping_tax_total": money(t["shipping_tax"]),
            "rate_percent": 10, "meta_data": [],
        }] if t["total_tax"] else [],
        "shipping_lines": [{
            "id": oid * 10 + 4, "method_title": "Local delivery", "method_id": "local_delivery",
            "instance_id": "1", "total": money(t["shipping"]), "total_tax": money(t["shipping_tax"]),
            "taxes": [], "meta_data": [],
        }],
        "fee_lines": [],
        "coupon_lines": [{
            "id": oid * 10 + 5, "code": coupon.lower(), "discount": money(t["discount"]),
            "discount_tax": money(t["discount_tax"]), "meta_data": [],
        }] if coupon else [],
        "refunds": [{"id": rid, "reason": reason, "total": f"-{money(amount)}"} for rid, amount, reason in o.refunds],
    }


def render_note(n: dict) -> dict:
    created, created_gmt = _both(n["created"])
    return {"id": n["id"], "author": "admin" if n["added_by_user"] else "WooCommerce", "date_created": created,
            "date_created_gmt": created_gmt, "note": n["note"], "customer_note": n["customer_note"]}


def render_customer(c: WooCustomer, paying: bool) -> dict:
    return {
        "id": c.id, "date_created": local(c.created), "date_created_gmt": gmt(c.created),
        "date_modified": local(c.modified), "date_modified_gmt": gmt(c.modified),
        "email": c.email, "first_name": c.first_name, "last_name": c.last_name, "role": "customer",
        "username": c.email.split("@")[0],
        "billing": _address(c.billing, c.first_name, c.last_name, c.email, c.phone),
        "shipping": _address(c.shipping, c.first_name, c.last_name),
        "is_paying_customer": paying, "avatar_url": "", "meta_data": [],
    }


def render_product(p: WooProduct) -> dict:
    item = p.item
    slug = item.name.lower().replace(" ", "-")
    return {
        "id": p.id, "name": item.name, "slug": slug, "permalink": f"/product/{slug}/",
        "date_created": local(p.created), "date_created_gmt": gmt(p.created),
        "date_modified": local(p.modified), "date_modified_gmt": gmt(p.modified),
        "type": "simple", "status": "publish", "featured": False, "catalog_visibility": "visible",
        "description": "", "short_description": "", "sku": item.sku,
        "price": money(p.price), "regular_price": money(p.price), "sale_price": "", "on_sale": False,
        "purchasable": True, "total_sales": p.total_sales, "virtual": False, "downloadable": False,
        "tax_status": "taxable" if item.gst else "none", "tax_class": "",
        "manage_stock": p.manage_stock, "stock_quantity": p.stock if p.manage_stock else None,
        "stock_status": "instock" if p.stock > 0 or not p.manage_stock else "outofstock",
        "weight": str(item.unit_size) if item.unit == "kg" else "",
        "categories": [{"id": zlib.crc32(item.category.encode()) % 1000, "name": item.category,
                        "slug": item.category.lower()}],
        "attributes": [{"id": 0, "name": "Unit", "visible": True, "variation": False, "options": [item.unit]}],
        "variations": [], "meta_data": [],
    }
