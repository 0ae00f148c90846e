"""Web orders without a Xero invoice -> one AUTHORISED ACCREC invoice each (Reference = the order
number), for a contact matched by email or created first.

The invoice copies the order the way the bookkeeping integration does (sandbox/xero/store.py
follows the same arithmetic): amounts exclusive of GST, one line per order line (the SKU as
ItemCode, the coupon as DiscountRate, GST-free lines EXEMPTOUTPUT) on the sales account, and the
delivery fee as a line on the other-revenue account. Both account codes are settings
(SEAMLINE_XERO_SALES_ACCOUNT, default 200; SEAMLINE_XERO_DELIVERY_ACCOUNT, default 260).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from outbound.clients import send_json
from outbound.keys import idempotency_key, mask_pii
from outbound.writer import Context, Job, Rejected, Sent, WriteFailed

CONTACTS_JOB = "xero_contacts"  # the map of contacts this job created (local key: the customer)
DUE_DAYS = 7


def sales_account() -> str:
    return os.environ.get("SEAMLINE_XERO_SALES_ACCOUNT", "200")


def delivery_account() -> str:
    return os.environ.get("SEAMLINE_XERO_DELIVERY_ACCOUNT", "260")


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def invoice_lines(row: dict) -> list[dict]:
    out = []
    for line in row["lines"]:
        subtotal, total = _dec(line.get("line_subtotal")), _dec(line.get("line_total"))
        item = {
            "Description": line.get("description") or line.get("sku") or "Item",
            "Quantity": _dec(line.get("quantity")),
            "UnitAmount": _dec(line.get("unit_price")),
            "AccountCode": sales_account(),
            "TaxType": "OUTPUT" if _dec(line.get("line_tax")) > 0 else "EXEMPTOUTPUT",
        }
        if line.get("sku"):
            item["ItemCode"] = line["sku"]
        if subtotal > 0 and total < subtotal:
            item["DiscountRate"] = discount_rate(subtotal, total)
        out.append(item)
    shipping = _dec(row.get("shipping_total"))
    if shipping > 0:
        out.append({"Description": "Local delivery", "Quantity": Decimal(1), "UnitAmount": shipping,
                    "AccountCode": delivery_account(), "TaxType": "OUTPUT"})
    return out


def discount_rate(subtotal: Decimal, total: Decimal) -> Decimal:
    """The percentage Xero needs to arrive at the order's line total: a whole percent when one
    reproduces it to the cent (coupons are), else the exact rate to two places."""
    exact = (1 - total / subtotal) * 100
    for rate in (exact.quantize(Decimal(1)), exact.quantize(Decimal("0.01"))):
        if (subtotal * (1 - rate / 100)).quantize(Decimal("0.01"), ROUND_HALF_UP) == total:
            return rate
    return exact.quantize(Decimal("0.01"))


def contact_local_key(row: dict) -> str:
    """The contact's key in the map: the golden customer, else the order (a guest with no match)."""
    return f"customer:{row['customer_key']}" if row.get("customer_key") else f"order:{row['order_key']}"


LOOKUP_SIZE = 50  # references per `where` query: a URL well under the servers' limits


class XeroInvoices(Job):
    name = "xero_invoices"
    vendor = "xero"
    model = "outbound_xero_invoices"
    local_key_column = "order_key"
    order_by = "order_id"

    def rows(self, ctx: Context) -> list[dict]:
        rows = super().rows(ctx)
        ctx.memo["references"] = [str(row["order_number"]) for row in rows]
        return rows

    def existing_invoice(self, ctx: Context, reference: str) -> str | None:
        """Read before write: our copy of Xero is as old as its last sync, and another hand (the
        shop's bookkeeping integration, a person) may have invoiced the order since; an invoice
        Xero holds for it, in any status, is mapped instead of a second one made. Asked for up to
        LOOKUP_SIZE orders at a time (one `where` query), ahead of their writes."""
        found = ctx.memo.setdefault("invoices_found", {})
        asked = ctx.memo.setdefault("references_asked", set())
        if reference not in asked:
            upcoming = ctx.memo.get("references") or [reference]
            start = upcoming.index(reference) if reference in upcoming else 0
            chunk = [ref for ref in upcoming[start:] if ref not in asked][:LOOKUP_SIZE] or [reference]
            if reference not in chunk:
                chunk = [reference, *chunk[:LOOKUP_SIZE - 1]]
            found.update(self._existing(ctx, chunk))
            asked.update(chunk)
        return found.get(reference)

    def _existing(self, ctx: Context, references: list[str]) -> dict[str, str]:
        where = " OR ".join(f'Reference=="{ref}"' for ref in references)
        try:
            _, body = send_json(ctx.client("xero"), "xero", "GET", f"Invoices?{urlencode({'where': where})}", None,
                                resource="invoices")
        except Rejected as exc:  # our own query refused: a bug or an API change, not a row's fault
            raise WriteFailed(f"{self.name}: Xero refused the lookup of existing invoices: {exc}",
                              transient=False) from None
        found: dict[str, str] = {}
        for invoice in (body or {}).get("Invoices") or []:
            if invoice.get("Type") == "ACCREC" and invoice.get("Reference") in references:
                found.setdefault(invoice["Reference"], invoice["InvoiceID"])
        return found

    def summary(self, row: dict) -> dict:
        return {"order_key": row["order_key"], "reference": row["order_number"], "currency": row["currency"],
                "total": row["order_total"], "lines": len(row["lines"]), "contact_id": row.get("contact_id")}

    def personal(self, row: dict) -> tuple:
        return (row.get("customer_email"), row.get("first_name"), row.get("last_name"))

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        existing = self.existing_invoice(ctx, str(row["order_number"]))
        if existing:
            return Sent(existing, 200, found=True)
        client = ctx.client("xero")
        contact_id = row.get("contact_id") or self._contact(ctx, row)
        ordered = row["ordered_at"]
        invoice = {
            "Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Reference": str(row["order_number"]),
            "Date": ordered.date().isoformat(), "DueDate": (ordered + timedelta(days=DUE_DAYS)).date().isoformat(),
            "CurrencyCode": row["currency"], "Status": "AUTHORISED", "LineAmountTypes": "Exclusive",
            "LineItems": invoice_lines(row),
        }
        status, body = send_json(client, "xero", "PUT", "Invoices", {"Invoices": [invoice]}, resource="invoices",
                                 headers={"Idempotency-Key": key})
        return Sent(_first_id(body, "Invoices", "InvoiceID"), status)

    def _contact(self, ctx: Context, row: dict) -> str:
        """The contact this job created for the customer before, or a new one (with its own key,
        so a crash after Xero made it finds the same contact on the next run)."""
        local = contact_local_key(row)
        known = ctx.store.remote_id(CONTACTS_JOB, local)
        if known:
            return known
        first, last = row.get("first_name") or "", row.get("last_name") or ""
        email = row.get("customer_email") or ""
        name = " ".join(part for part in (first, last) if part) or email or str(row["order_key"])
        # Xero wants contact names unique: a namesake gets the email beside the name
        for attempt, shown in enumerate((name, f"{name} ({email})" if email else f"{name} ({local})")):
            key = idempotency_key(CONTACTS_JOB, local, str(attempt) if attempt else "")
            contact = {"Name": shown, "FirstName": first, "LastName": last, "EmailAddress": email}
            try:
                status, body = send_json(ctx.client("xero"), "xero", "POST", "Contacts", {"Contacts": [contact]},
                                         resource="contacts", headers={"Idempotency-Key": key})
                break
            except Rejected as exc:
                message = mask_pii(str(exc), self.personal(row))
                ctx.store.record_failed(CONTACTS_JOB, key, local, {"for": row["order_key"]}, exc.status, "rejected",
                                        message)
                if attempt or "already assigned" not in str(exc):
                    raise Rejected(message, exc.status) from None
        contact_id = _first_id(body, "Contacts", "ContactID")
        if not contact_id:
            raise Rejected(f"xero: the contact for {row['order_key']} came back without a ContactID", status)
        ctx.store.record_written(CONTACTS_JOB, key, local, {"for": row["order_key"]}, status, contact_id)
        return contact_id


def _first_id(body, collection: str, field: str) -> str | None:
    if isinstance(body, dict) and isinstance(body.get(collection), list) and body[collection]:
        return body[collection][0].get(field)
    return None
