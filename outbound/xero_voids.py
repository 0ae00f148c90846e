"""Orders that did not happen -> their live Xero invoice VOIDED (nothing paid), or a credit note
for what is not yet credited (paid invoices cannot be voided in Xero).

The invoice is the one the mart names, or, for an order invoiced by `xero_invoices` since the
last sync, the one ops.outbound_map recorded; without either the row waits for the next run.
"""

from __future__ import annotations

from outbound.clients import send_json
from outbound.writer import Context, Job, Rejected, Sent, mapped_keys
from outbound.xero_invoices import XeroInvoices, _first_id, sales_account


class XeroVoids(Job):
    name = "xero_voids"
    vendor = "xero"
    model = "outbound_xero_voids"
    local_key_column = "order_key"
    order_by = "order_id"

    def version(self, row: dict) -> str:
        return row["action"]

    def rows(self, ctx: Context) -> list[dict]:
        rows = super().rows(ctx)
        created = mapped_keys(ctx, XeroInvoices) if any(not row.get("invoice_id") for row in rows) else {}
        for row in rows:
            if not row.get("invoice_id"):
                row["invoice_id"] = created.get(row["order_key"], (None, None))[1]
        return [row for row in rows if row["invoice_id"]]

    def summary(self, row: dict) -> dict:
        return {"order_key": row["order_key"], "invoice_id": row["invoice_id"], "action": row["action"],
                "amount": row["amount_to_credit"] if row["action"] == "credit_note" else None}

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        client = ctx.client("xero")
        if row["action"] == "void":
            # read before write: voided since our last sync (by the bookkeeping integration, a person)
            current, _ = client.get_json(f"{client.base_url}/Invoices/{row['invoice_id']}", resource="invoices")
            if (_first_list(current, "Invoices") or {}).get("Status") in ("VOIDED", "DELETED"):
                return Sent(row["invoice_id"], 200, found=True)
            body = {"Invoices": [{"InvoiceID": row["invoice_id"], "Status": "VOIDED"}]}
            status, answer = send_json(client, "xero", "POST", f"Invoices/{row['invoice_id']}", body,
                                       resource="invoices", headers={"Idempotency-Key": key})
            return Sent(_first_id(answer, "Invoices", "InvoiceID") or row["invoice_id"], status)
        contact_id = self._contact_of(ctx, row["invoice_id"])
        note = {
            # no Date (Xero takes today): the body must be the same on a re-run for the key to replay it
            "Type": "ACCRECCREDIT", "Contact": {"ContactID": contact_id}, "Reference": str(row["order_number"]),
            "CurrencyCode": row["currency"], "Status": "AUTHORISED",
            "LineAmountTypes": "Inclusive",
            "LineItems": [{"Description": f"Refund of order {row['order_number']}", "Quantity": 1,
                           "UnitAmount": row["amount_to_credit"], "AccountCode": sales_account(),
                           "TaxType": "OUTPUT"}],
        }
        status, answer = send_json(client, "xero", "PUT", "CreditNotes", {"CreditNotes": [note]},
                                   resource="credit_notes", headers={"Idempotency-Key": key})
        return Sent(_first_id(answer, "CreditNotes", "CreditNoteID"), status)

    @staticmethod
    def _contact_of(ctx: Context, invoice_id: str) -> str:
        client = ctx.client("xero")
        body, _ = client.get_json(f"{client.base_url}/Invoices/{invoice_id}", resource="invoices")
        contact = (_first_list(body, "Invoices") or {}).get("Contact") or {}
        if not contact.get("ContactID"):
            raise Rejected(f"xero: invoice {invoice_id} has no contact to credit")
        return contact["ContactID"]


def _first_list(body, collection: str) -> dict | None:
    if isinstance(body, dict) and isinstance(body.get(collection), list) and body[collection]:
        return body[collection][0]
    return None
