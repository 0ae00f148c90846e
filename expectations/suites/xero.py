"""Xero: suites on the raw tables dlt lands in raw_xero (ingest/xero: PascalCase fields as
snake_case columns, `LineItems` and `Payments` as child tables, `is_deleted` on DELETED records and
ARCHIVED contacts, .NET dates as UTC timestamps, amounts as exact decimals).

The invoices are a bookkeeping integration's copies of web orders: one ACCREC invoice per order,
one positive line per product (and delivery), and a credit is a credit note, never a negative
line. Xero's own arithmetic is checked to the cent: total = sub_total + total_tax, a line's amount
is quantity x unit amount less its discount, and what is paid, credited and still due adds up to
the total; the payments ledger (the `payments` collection) must agree with each invoice's
amount_paid.
"""

from __future__ import annotations

from expectations.suites.base import (
    EMAIL_REGEX,
    ISO_4217_CODES,
    MONEY_TOLERANCE,
    SuiteSpec,
    Tagger,
    has_rows,
    in_set,
    loads_suite,
    non_negative,
    not_deleted,
    not_null,
    sql_check,
    unique,
)
from seamline import settings

INTEGRATION = "xero"

DOCUMENT_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREDIT_NOTE_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CONTACT_STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")
PAYMENT_STATUSES = ("AUTHORISED", "DELETED")
PAYMENT_TYPES = (
    "ACCRECPAYMENT", "ACCPAYPAYMENT", "ARCREDITPAYMENT", "APCREDITPAYMENT", "AROVERPAYMENTPAYMENT",
    "ARPREPAYMENTPAYMENT", "APPREPAYMENTPAYMENT", "APOVERPAYMENTPAYMENT",
)
# Australian organisations' tax types (Xero's TaxType codes)
TAX_TYPES = (
    "OUTPUT", "INPUT", "EXEMPTOUTPUT", "EXEMPTEXPENSES", "EXEMPTCAPITAL", "EXEMPTEXPORT", "BASEXCLUDED",
    "CAPEXINPUT", "GSTONCAPIMPORTS", "GSTONIMPORTS", "INPUTTAXED", "NONE",
)
# A Xero date is the organisation's calendar day sent as midnight UTC: up to a day ahead of UTC now.
DATE_SKEW = "interval '1 day'"
LIVE = "status not in ('VOIDED', 'DELETED')"

tag = Tagger(INTEGRATION)


def _raw(table: str) -> str:
    return f"{settings.raw_schema(INTEGRATION)}.{table}"


def _spec(table: str, expectations: list) -> SuiteSpec:
    return SuiteSpec(f"{INTEGRATION}.raw.{table}", INTEGRATION, settings.raw_schema(INTEGRATION), table,
                     tuple(expectations))


def invoices() -> SuiteSpec:
    lines = (
        f"select li._dlt_parent_id, sum(li.line_amount) as lines_total "
        f"from {_raw('invoices__line_items')} as li group by li._dlt_parent_id"
    )
    ledger = (
        f"select p.invoice__invoice_id, sum(p.amount) as paid from {_raw('payments')} as p "
        f"where p.payment_type = 'ACCRECPAYMENT' and p.status <> 'DELETED' and {not_deleted('p')} "
        f"group by p.invoice__invoice_id"
    )
    return _spec("invoices", [
        has_rows(tag),
        *not_null(tag, ("invoice_id", "invoice_number", "type", "status", "contact__contact_id", "currency_code",
                        "date", "sub_total", "total_tax", "total")),
        in_set(tag, "status", DOCUMENT_STATUSES),
        in_set(tag, "type", INVOICE_TYPES),
        in_set(tag, "currency_code", ISO_4217_CODES),
        in_set(tag, "line_amount_types", LINE_AMOUNT_TYPES),
        *non_negative(tag, ("sub_total", "total_tax", "total", "amount_due", "amount_paid")),
        unique(tag, "invoice_id"),
        unique(tag, "invoice_number"),
        tag("consistency", sql_check(
            "An invoice's total is its sub_total plus its total_tax, to the cent.",
            f"select invoice_id, total, sub_total, total_tax from {{batch}} "
            f"where abs(total - (sub_total + total_tax)) > {MONEY_TOLERANCE}",
        ), column="total"),
        tag("consistency", sql_check(
            "A PAID invoice has its payments.",
            f"select i.invoice_id, i.invoice_number from {{batch}} as i "
            f"left join {_raw('invoices__payments')} as p on p._dlt_parent_id = i._dlt_id "
            f"where i.status = 'PAID' and p._dlt_id is null",
        ), column="status"),
        tag("consistency", sql_check(
            "On a live invoice, amount due + paid + credited is the total, to the cent.",
            f"select invoice_id, total, amount_due, amount_paid, amount_credited from {{batch}} "
            f"where {LIVE} and abs(coalesce(amount_due, 0) + coalesce(amount_paid, 0) "
            f"+ coalesce(amount_credited, 0) - total) > {MONEY_TOLERANCE}",
        ), column="amount_due"),
        tag("consistency", sql_check(
            "An invoice's sub_total is the sum of its line amounts, to the cent.",
            f"select i.invoice_id, i.sub_total, li.lines_total from {{batch}} as i "
            f"inner join ({lines}) as li on li._dlt_parent_id = i._dlt_id "
            f"where abs(i.sub_total - li.lines_total) > {MONEY_TOLERANCE}",
        ), column="sub_total"),
        tag("consistency", sql_check(
            "Every invoice names a contact that was loaded.",
            f"select i.invoice_id, i.contact__contact_id from {{batch}} as i "
            f"left join {_raw('contacts')} as c on c.contact_id = i.contact__contact_id "
            f"where c.contact_id is null",
        ), column="contact__contact_id"),
        tag("accuracy", sql_check(
            "An invoice's amount_paid equals the payments the ledger holds against it, to the cent.",
            f"select i.invoice_id, i.amount_paid, coalesce(l.paid, 0) as ledger_paid from {{batch}} as i "
            f"left join ({ledger}) as l on l.invoice__invoice_id = i.invoice_id "
            f"where abs(coalesce(i.amount_paid, 0) - coalesce(l.paid, 0)) > {MONEY_TOLERANCE}",
        ), column="amount_paid"),
        tag("accuracy", sql_check(
            "Invoice dates are in range: from 2000 to today, and due no earlier than issued.",
            f"select invoice_id, date, due_date from {{batch}} where date < date '2000-01-01' "
            f"or date > now() + {DATE_SKEW} or due_date < date",
        ), column="date"),
    ])


def invoice_lines() -> SuiteSpec:
    return _spec("invoices__line_items", [
        *not_null(tag, ("line_item_id", "quantity", "unit_amount", "line_amount", "account_code")),
        *non_negative(tag, ("quantity", "unit_amount", "tax_amount")),
        in_set(tag, "tax_type", TAX_TYPES),
        tag("consistency", sql_check(
            "A line's amount is quantity x unit amount less its discount, to the cent.",
            f"select line_item_id, quantity, unit_amount, discount_rate, line_amount from {{batch}} "
            f"where abs(line_amount - round(quantity * unit_amount * (1 - coalesce(discount_rate, 0) / 100), 2)) "
            f"> {MONEY_TOLERANCE}",
        ), column="line_amount"),
        tag("consistency", sql_check(
            "Every invoice line belongs to an invoice that was loaded.",
            f"select li.line_item_id, li._dlt_parent_id from {{batch}} as li "
            f"left join {_raw('invoices')} as i on i._dlt_id = li._dlt_parent_id where i._dlt_id is null",
        ), column="_dlt_parent_id"),
    ])


def contacts() -> SuiteSpec:
    return _spec("contacts", [
        *not_null(tag, ("contact_id", "name")),
        # Xero itself does not insist, but every customer contact here is a web customer, who
        # always gives an address, and the invoices are emailed to it
        tag("completeness", sql_check(
            "Every customer contact has an email address.",
            "select contact_id, name, email_address from {batch} "
            "where is_customer and nullif(trim(email_address), '') is null",
        ), column="email_address"),
        tag("validity", sql_check(
            "Contact email addresses (where given) are well formed.",
            f"select contact_id, email_address from {{batch}} "
            f"where nullif(trim(email_address), '') is not null and email_address !~ '{EMAIL_REGEX}'",
        ), column="email_address"),
        in_set(tag, "contact_status", CONTACT_STATUSES),
        in_set(tag, "default_currency", ISO_4217_CODES),
        unique(tag, "contact_id"),
    ])


def payments() -> SuiteSpec:
    return _spec("payments", [
        *not_null(tag, ("payment_id", "amount", "date", "payment_type")),
        in_set(tag, "status", PAYMENT_STATUSES),
        in_set(tag, "payment_type", PAYMENT_TYPES),
        *non_negative(tag, ("amount",)),
        unique(tag, "payment_id"),
        tag("consistency", sql_check(
            "Every invoice payment names an invoice that was loaded.",
            f"select p.payment_id, p.invoice__invoice_id from {{batch}} as p "
            f"left join {_raw('invoices')} as i on i.invoice_id = p.invoice__invoice_id "
            f"where p.payment_type in ('ACCRECPAYMENT', 'ACCPAYPAYMENT') and i.invoice_id is null",
        ), column="invoice__invoice_id"),
    ])


def credit_notes() -> SuiteSpec:
    return _spec("credit_notes", [
        *not_null(tag, ("credit_note_id", "status", "total")),
        in_set(tag, "status", DOCUMENT_STATUSES),
        in_set(tag, "type", CREDIT_NOTE_TYPES),
        *non_negative(tag, ("total",)),
        unique(tag, "credit_note_id"),
        tag("consistency", sql_check(
            "A credit note's total is its sub_total plus its total_tax, to the cent.",
            f"select credit_note_id, total, sub_total, total_tax from {{batch}} "
            f"where abs(total - (sub_total + total_tax)) > {MONEY_TOLERANCE}",
        ), column="total"),
    ])


def suites() -> list[SuiteSpec]:
    return [invoices(), invoice_lines(), contacts(), payments(), credit_notes(), loads_suite(INTEGRATION)]
