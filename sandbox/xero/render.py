"""Xero Accounting API JSON, as the real API sends it.

Dates are .NET JSON dates (`/Date(1552326816230+0000)/`), amounts are JSON numbers written
with two decimals (`45.60`, emitted as raw JSON so a Decimal parser sees them exactly),
quantities with four. `drift` and `bad` apply the drift / bad_data faults.
"""

from __future__ import annotations

from decimal import Decimal

import orjson

from sandbox.xero.store import (
    XAccount,
    XContact,
    XCreditNote,
    XeroStore,
    XInvoice,
    XItem,
    XPayment,
    amounts_of,
    bad_kind,
    invoice_amounts,
    invoice_lines,
    melbourne_date_ms,
    uid,
)


def net_date(at_ms: int | None) -> str | None:
    return None if at_ms is None else f"/Date({at_ms}+0000)/"


class Fmt:
    """Number formatting for one response: raw JSON decimals, or strings under the type_change drift."""

    def __init__(self, drift: str | None):
        self.as_string = drift == "type_change"

    def money(self, value: Decimal):
        text = f"{value:.2f}"
        return text if self.as_string else orjson.Fragment(text)

    def qty(self, value: Decimal):
        text = f"{value:.4f}"
        return text if self.as_string else orjson.Fragment(text)

    def rate(self):
        return "1.000000" if self.as_string else orjson.Fragment(b"1.000000")


def _date_fields(prefix: str, at_ms: int) -> dict:
    midnight, text = melbourne_date_ms(at_ms)
    return {f"{prefix}String": text, prefix: net_date(midnight)}


def contact_ref(store: XeroStore, c: XContact) -> dict:
    return {"ContactID": store.contact_id(c), "Name": c.name, "Addresses": [], "Phones": [], "ContactGroups": [],
            "ContactPersons": [], "HasValidationErrors": False}


def render_contact(store: XeroStore, c: XContact, drift: str | None = None, bad: bool = False) -> dict:
    cid = store.contact_id(c)
    digits = "".join(ch for ch in c.phone if ch.isdigit())
    out = {
        "ContactID": cid, "ContactStatus": c.status, "Name": c.name, "FirstName": c.first_name,
        "LastName": c.last_name, "EmailAddress": c.email, "BankAccountDetails": "",
        "Addresses": [
            {"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
            {"AddressType": "POBOX", "AddressLine1": c.address.line1, "City": c.address.city,
             "Region": c.address.state, "PostalCode": c.address.postcode, "Country": "Australia"},
        ],
        "Phones": [
            {"PhoneType": "DEFAULT", "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""},
            {"PhoneType": "MOBILE", "PhoneNumber": c.phone, "PhoneAreaCode": "",
             "PhoneCountryCode": "61" if digits.startswith("61") else ""},
            {"PhoneType": "FAX", "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""},
        ],
        "UpdatedDateUTC": net_date(c.updated_ms), "ContactGroups": [], "IsSupplier": False, "IsCustomer": True,
        "DefaultCurrency": "AUD", "SalesTrackingCategories": [], "PurchasesTrackingCategories": [],
        "ContactPersons": [], "HasAttachments": False, "HasValidationErrors": False,
    }
    if bad and bad_kind(cid) == 0:
        out["EmailAddress"] = ""
    if drift == "new_field":
        out["CompanyNumber"] = ""
    return out


def _lines(inv: XInvoice, f: Fmt, bad_negative: bool, seed: int, lines=None, key: str | None = None) -> list[dict]:
    out = []
    key = key or f"line:{inv.number}"  # a generated credit note repeats its invoice's lines (and their ids)
    for i, line in enumerate(invoice_lines(inv) if lines is None else lines):
        row = {
            "Description": line.description, "UnitAmount": f.money(line.unit_amount), "TaxType": line.tax_type,
            "TaxAmount": f.money(line.tax_amount), "LineAmount": f.money(line.line_amount),
            "AccountCode": line.account_code, "Tracking": [], "Quantity": f.qty(line.quantity),
            "LineItemID": uid(seed, key, i),
        }
        if line.item_code:
            row["ItemCode"] = line.item_code
        if line.discount_rate is not None:
            row["DiscountRate"] = f.money(line.discount_rate)
        if bad_negative and i == 0:
            row["Quantity"] = f.qty(-line.quantity)
        out.append(row)
    return out


def render_invoice(store: XeroStore, inv: XInvoice, with_lines: bool = True, drift: str | None = None,
                   bad: bool = False) -> dict:
    f = Fmt(drift)
    iid = store.invoice_id(inv)
    kind = bad_kind(iid) if bad else -1
    doc = inv.manual  # created through the API: it says what it is
    lines = invoice_lines(inv)
    a = amounts_of(lines) if doc is None else doc.amounts
    total = a["Total"] + (Decimal("1.00") if kind == 0 else 0)
    live = inv.status not in ("VOIDED", "DELETED")
    paid = a["Total"] if inv.payment is not None and inv.payment.status != "DELETED" else Decimal("0.00")
    payments = []
    if inv.payment is not None and inv.payment.status != "DELETED":
        p = inv.payment
        payments.append({"PaymentID": store.payment_id(p), **_date_fields("Date", p.date_ms)} | {
            "Amount": f.money(a["Total"]), "Reference": _payment_reference(inv), "CurrencyRate": f.rate(),
            "HasAccount": False, "HasValidationErrors": False})
        payments[0].pop("DateString")
    credit_notes = []
    if inv.credit_note is not None:
        cn = inv.credit_note
        credit_notes.append({"CreditNoteID": store.credit_note_id(cn), "CreditNoteNumber": f"CN-{cn.number:05d}",
                             "Total": f.money(a["Total"]), "AppliedAmount": f.money(Decimal(0)),
                             **_date_fields("Date", cn.created_ms)})
    contact = contact_ref(store, inv.contact)
    due_ms = inv.created_ms + 7 * 86_400_000 if doc is None or doc.due_ms is None else doc.due_ms
    out = {
        "Type": "ACCREC", "InvoiceID": iid, "InvoiceNumber": f"INV-{inv.number:05d}" if doc is None else doc.number,
        "Reference": inv.reference, "Payments": payments, "CreditNotes": credit_notes, "Prepayments": [],
        "Overpayments": [], "AmountDue": f.money(a["Total"] - paid if live else Decimal(0)),
        "AmountPaid": f.money(paid), "AmountCredited": f.money(Decimal(0)), "CurrencyRate": f.rate(),
        "IsDiscounted": a["TotalDiscount"] > 0, "HasAttachments": False, "InvoiceAddresses": [],
        "HasErrors": False, "InvoicePaymentServices": [], "Contact": contact,
        **_date_fields("Date", inv.created_ms), **_date_fields("DueDate", due_ms),
        "Status": inv.status, "LineAmountTypes": "Exclusive" if doc is None else doc.line_amount_types,
    }
    if with_lines:
        out["LineItems"] = _lines(inv, f, kind == 1, store.seed, lines)
    out.update({
        "SubTotal": f.money(a["SubTotal"]), "TotalTax": f.money(a["TotalTax"]), "Total": f.money(total),
        "TotalDiscount": f.money(a["TotalDiscount"]), "UpdatedDateUTC": net_date(inv.updated_ms),
        "CurrencyCode": "AUD" if doc is None else doc.currency,
    })
    if inv.status == "PAID" and inv.payment is not None:
        out["FullyPaidOnDate"] = _date_fields("Date", inv.payment.date_ms)["Date"]
    if drift == "new_field":
        out["RepeatingInvoiceID"] = None
    elif drift == "object_to_list":
        out["Contact"] = [contact]
    return out


def render_payment(store: XeroStore, p: XPayment, drift: str | None = None) -> dict:
    f = Fmt(drift)
    amount = invoice_amounts(p.invoice if p.invoice is not None else p.credit_note.invoice)["Total"]
    out = {
        "PaymentID": store.payment_id(p), **_date_fields("Date", p.date_ms),
        "BankAmount": f.money(amount), "Amount": f.money(amount), "CurrencyRate": f.rate(),
        "PaymentType": "ACCRECPAYMENT" if p.invoice is not None else "ARCREDITPAYMENT",
        "Status": p.status, "UpdatedDateUTC": net_date(p.updated_ms), "HasAccount": True, "IsReconciled": False,
        "Account": {"AccountID": store.account_id(store.accounts[0]), "Code": store.accounts[0].code},
        "HasValidationErrors": False,
    }
    out.pop("DateString")
    if p.invoice is not None:
        inv = p.invoice
        out["Reference"] = _payment_reference(inv)
        out["Invoice"] = {"Type": "ACCREC", "InvoiceID": store.invoice_id(inv),
                          "InvoiceNumber": f"INV-{inv.number:05d}", "Payments": [], "CreditNotes": [],
                          "Prepayments": [], "Overpayments": [], "IsDiscounted": False, "HasErrors": False,
                          "InvoicePaymentServices": [], "Contact": contact_ref(store, inv.contact),
                          "LineItems": [], "CurrencyCode": "AUD"}
    else:
        cn = p.credit_note
        out["Reference"] = f"Refund {cn.reference}"
        out["CreditNote"] = {"CreditNoteID": store.credit_note_id(cn), "CreditNoteNumber": f"CN-{cn.number:05d}",
                             "Payments": [], "Allocations": [], "HasErrors": False,
                             "Contact": contact_ref(store, cn.invoice.contact), "LineItems": [],
                             "CurrencyCode": "AUD"}
    if drift == "new_field":
        out["BatchPaymentID"] = None
    elif drift == "object_to_list":
        out["Account"] = [out["Account"]]
    return out


def _payment_reference(inv: XInvoice) -> str:
    order = inv.order
    return f"Stripe ch_{order.id:x}" if order is not None else inv.reference


def render_credit_note(store: XeroStore, cn: XCreditNote, drift: str | None = None) -> dict:
    f = Fmt(drift)
    doc = cn.manual  # created through the API: its own lines, not its invoice's
    inv = cn.invoice
    lines = invoice_lines(inv) if doc is None else doc.lines
    a = amounts_of(lines) if doc is None else doc.amounts
    contact = contact_ref(store, cn.contact)
    payments = []
    if cn.payment is not None:
        payments.append({"PaymentID": store.payment_id(cn.payment), "Date": net_date(melbourne_date_ms(
            cn.payment.date_ms)[0]), "Amount": f.money(a["Total"]), "CurrencyRate": f.rate(),
            "HasAccount": False, "HasValidationErrors": False})
    remaining = a["Total"] if doc is not None and cn.status in ("AUTHORISED", "SUBMITTED") else Decimal(0)
    out = {
        "CreditNoteID": store.credit_note_id(cn),
        "CreditNoteNumber": f"CN-{cn.number:05d}" if doc is None else doc.number, "Type": "ACCRECCREDIT",
        "Reference": cn.reference, "Payments": payments, "Allocations": [],
        "RemainingCredit": f.money(remaining), "HasAttachments": False, "HasErrors": False, "Contact": contact,
        **_date_fields("Date", cn.created_ms), "Status": cn.status,
        "LineAmountTypes": "Exclusive" if doc is None else doc.line_amount_types,
        "LineItems": _lines(inv, f, False, store.seed, lines, key=None if doc is None else f"cnline:{cn.number}"),
        "SubTotal": f.money(a["SubTotal"]), "TotalTax": f.money(a["TotalTax"]), "Total": f.money(a["Total"]),
        "UpdatedDateUTC": net_date(cn.updated_ms), "CurrencyCode": "AUD" if doc is None else doc.currency,
        "CurrencyRate": f.rate(),
    }
    if doc is None:  # refunded in cash the day it was raised
        out["FullyPaidOnDate"] = net_date(melbourne_date_ms(cn.created_ms)[0])
    else:
        out["DueDate"] = net_date(doc.due_ms)
    if drift == "new_field":
        out["BrandingThemeID"] = None
    elif drift == "object_to_list":
        out["Contact"] = [contact]
    return out


def render_item(store: XeroStore, item: XItem, drift: str | None = None) -> dict:
    f = Fmt(drift)
    sales = {"UnitPrice": f.money(item.price), "AccountCode": "200",
             "TaxType": "OUTPUT" if item.item.gst else "EXEMPTOUTPUT"}
    out = {
        "ItemID": store.item_id(item), "Code": item.item.sku, "Description": item.item.name,
        "PurchaseDescription": item.item.name, "UpdatedDateUTC": net_date(item.updated_ms),
        "PurchaseDetails": {"UnitPrice": f.money(item.cost), "AccountCode": "310",
                            "TaxType": "INPUT" if item.item.gst else "EXEMPTEXPENSES"},
        "SalesDetails": sales, "Name": item.name, "IsTrackedAsInventory": False, "IsSold": True,
        "IsPurchased": True,
    }
    if drift == "new_field":
        out["InventoryAssetAccountCode"] = None
    elif drift == "object_to_list":
        out["SalesDetails"] = [sales]
    return out


def render_account(store: XeroStore, acc: XAccount, drift: str | None = None) -> dict:
    out = {
        "AccountID": store.account_id(acc), "Code": acc.code, "Name": acc.name, "Status": "ACTIVE",
        "Type": acc.type, "TaxType": acc.tax_type, "Class": acc.cls,
        "EnablePaymentsToAccount": acc.type == "BANK", "ShowInExpenseClaims": False,
        "BankAccountType": "BANK" if acc.type == "BANK" else "", "ReportingCode": acc.cls[:3],
        "ReportingCodeName": acc.cls.title(), "HasAttachments": False,
        "UpdatedDateUTC": net_date(acc.updated_ms), "AddToWatchlist": False,
    }
    if acc.type == "BANK":
        out["BankAccountNumber"] = "063-123 1234 5678"
        out["CurrencyCode"] = "AUD"
    if drift == "new_field":
        out["SystemAccount"] = ""
    return out
