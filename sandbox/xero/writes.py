"""Writes through the Xero API: contacts, invoices, credit notes and invoice status changes.

Each function checks every element of a request before it changes anything (Xero's default
`summarizeErrors=true`: one bad element fails the whole request and nothing is saved) and raises
`XeroValidation` with the elements as Xero echoes them, each with its `ValidationErrors`. What is
saved gets UpdatedDateUTC = the world's clock now, so an If-Modified-Since sync finds it.

Created invoices and credit notes take the next slot of the store's columns (so listing, paging,
If-Modified-Since and the id index see them like the others); what they say lives in a
`ManualDoc` beside the columns. Arithmetic is Xero's: line amount = quantity x unit amount less the
discount, rounded to cents; GST per line (10% for OUTPUT/INPUT); `Inclusive` line amounts include
the tax (tax = amount x 10/110), `NoTax` have none. Rounding is half up (Xero's own; unverified
for every case). Messages marked "(Xero)" are Xero's own words; the others are the sandbox's.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sandbox.people import Address
from sandbox.xero.store import (
    ACCOUNTS,
    CREDIT_NOTE_STATUSES,
    INVOICE_STATUSES,
    MANUAL,
    Line,
    ManualDoc,
    XContact,
    XeroStore,
    XInvoice,
    melbourne_date_ms,
    ms,
)

CENT = Decimal("0.01")
ZERO_ID = "00000000-0000-0000-0000-000000000000"
TAX_RATES = {"OUTPUT": Decimal("0.10"), "INPUT": Decimal("0.10"), "EXEMPTOUTPUT": Decimal(0),
             "EXEMPTEXPENSES": Decimal(0), "BASEXCLUDED": Decimal(0), "GSTONIMPORTS": Decimal(0),
             "EXEMPTINPUT": Decimal(0)}
ACCOUNT_TAX = {code: tax for code, _, _, tax, _ in ACCOUNTS}
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
DEFAULT_TERMS_DAYS = 7  # the organisation's default payment terms (DueDate when none is sent)
MAX_CONTACT_NAME = 255


class XeroValidation(Exception):
    """A request Xero refuses: `elements` as echoed, the failing ones with their ValidationErrors."""

    def __init__(self, elements: list[dict]):
        super().__init__("; ".join(e["Message"] for el in elements for e in el.get("ValidationErrors", [])))
        self.elements = elements


def name_key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _number(value, field: str, errors: list[str], default: Decimal | None = None) -> Decimal | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        errors.append(f"{field} must be a number.")
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        errors.append(f"{field} must be a number.")
        return None
    if not d.is_finite():
        errors.append(f"{field} must be a number.")
        return None
    return d


def _date(value, field: str, errors: list[str]) -> date | None:
    """Xero takes "YYYY-MM-DD", "YYYY-MM-DDT00:00:00" or a .NET date."""
    text = _text(value)
    if not text:
        return None
    try:
        if text.startswith("/Date("):
            return datetime.fromtimestamp(int(text[6:].split("+")[0].split(")")[0]) / 1000, timezone.utc).date()
        return date.fromisoformat(text[:10])
    except ValueError:
        errors.append(f"The {field} '{text}' is not a valid date.")
        return None


def _midnight_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()) * 1000


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _status(errors: list[str], raw, allowed: tuple, default: str) -> str:
    status = _text(raw).upper() or default
    if status not in allowed:
        errors.append(f"The Status of a new document must be one of {', '.join(allowed)}, not '{status}'.")
    return status


# -- contacts -------------------------------------------------------------------------------
def _contact_errors(store: XeroStore, c: dict, names: dict[str, int], own: int | None) -> list[str]:
    errors = []
    if not isinstance(c, dict):
        return ["Each contact must be a JSON object."]
    name = _text(c.get("Name"))
    if own is None and not name:
        errors.append("The contact name must be specified.")
    elif name and len(name) > MAX_CONTACT_NAME:
        errors.append(f"The contact name must be at most {MAX_CONTACT_NAME} characters long.")
    elif name:
        holder = names.get(name_key(name))
        if holder is not None and holder != own:
            errors.append(f"The contact name {name} is already assigned to another contact. The contact name "
                          "must be unique across all active contacts.")  # (Xero)
    email = _text(c.get("EmailAddress"))
    if email and ("@" not in email or " " in email or email.startswith("@") or email.endswith("@")):
        errors.append("Email address must be valid.")  # (Xero)
    status = _text(c.get("ContactStatus")).upper()
    if status and status not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"ContactStatus must be ACTIVE or ARCHIVED, not '{status}'.")
    return errors


def _echo_contact(c, errors: list[str]) -> dict:
    out = dict(c) if isinstance(c, dict) else {}
    out.setdefault("ContactID", ZERO_ID)
    out["HasValidationErrors"] = bool(errors)
    out["ValidationErrors"] = [{"Message": m} for m in errors]
    return out


def save_contacts(store: XeroStore, contacts: list) -> list[int]:
    """Create contacts (or update those that name a ContactID); returns their idx."""
    if not isinstance(contacts, list) or not contacts:
        raise XeroValidation([_echo_contact({}, ["The request must hold at least one contact in 'Contacts'."])])
    names = dict(store._name_index())
    plan, echoed, failed = [], [], False
    for c in contacts:
        own = None
        errors = []
        if isinstance(c, dict) and _text(c.get("ContactID")):
            own = store.find_slot("contact", _text(c["ContactID"]))
            if own is None:
                errors.append(f"The contact with ContactID {_text(c['ContactID'])} could not be found.")
        errors += _contact_errors(store, c, names, own)
        if not errors:
            name = _text(c.get("Name"))
            if name:  # names taken earlier in the same request count too
                names[name_key(name)] = own if own is not None else -1 - len(plan)
        echoed.append(_echo_contact(c, errors))
        failed = failed or bool(errors)
        plan.append((own, c))
    if failed:
        raise XeroValidation(echoed)
    now = ms(store.world.clock.now())
    out = []
    for own, c in plan:
        if own is None:
            name = _text(c["Name"])
            contact = XContact(len(store.contact_list), 0, name, _text(c.get("FirstName")), _text(c.get("LastName")),
                               _text(c.get("EmailAddress")), "", Address("", "", ""),
                               _text(c.get("ContactStatus")).upper() or "ACTIVE", now, now)
            store.contact_list.append(contact)
            store._names.add(name)
        else:
            contact = store.contact_list[own]
            if _text(c.get("Name")):
                old = name_key(contact.name)
                contact.name = _text(c["Name"])
                index = store._name_index()
                if index.get(old) == own:
                    del index[old]
                index[name_key(contact.name)] = own
                store._names.add(contact.name)
            for field, attr in (("FirstName", "first_name"), ("LastName", "last_name"), ("EmailAddress", "email")):
                if field in c:
                    setattr(contact, attr, _text(c[field]))
            if _text(c.get("ContactStatus")):
                contact.status = _text(c["ContactStatus"]).upper()
        contact.updated_ms = now
        out.append(contact.idx)
    store._name_index()
    store.version += 1
    return out


# -- invoices and credit notes ---------------------------------------------------------------
def _lines(store: XeroStore, raw, status: str, amount_types: str, errors: list[str]) -> list[Line]:
    if not isinstance(raw, list) or not raw:
        errors.append("The document must have at least one line item.")
        return []
    items = {item.item.sku: item for item in store.items}
    out = []
    for n, li in enumerate(raw, 1):
        if not isinstance(li, dict):
            errors.append(f"Line item {n} must be a JSON object.")
            continue
        line_errors: list[str] = []
        code = _text(li.get("ItemCode")) or None
        item = items.get(code) if code else None
        if code and item is None:
            line_errors.append(f"Item code '{code}' is not valid.")  # (Xero)
        description = _text(li.get("Description")) or (item.item.name if item else "")
        quantity = _number(li.get("Quantity"), "Quantity", line_errors, Decimal(1))
        unit = _number(li.get("UnitAmount"), "UnitAmount", line_errors,
                       item.price if item is not None else Decimal(0))
        discount = _number(li.get("DiscountRate"), "DiscountRate", line_errors)
        account = _text(li.get("AccountCode")) or ("200" if item is not None else "")
        if account and account not in ACCOUNT_TAX:
            line_errors.append(f"Account code '{account}' is not a valid code for this document.")  # (Xero)
        elif not account and status != "DRAFT":
            line_errors.append("An account code must be specified on every line of an approved document.")
        if not description and item is None:
            line_errors.append("Description must be specified on a line without an ItemCode.")
        tax_type = _text(li.get("TaxType")).upper() or (ACCOUNT_TAX.get(account) or "OUTPUT")
        if item is not None and not _text(li.get("TaxType")) and not item.item.gst:
            tax_type = "EXEMPTOUTPUT"
        if tax_type not in TAX_RATES:
            line_errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of "
                               "transaction.")  # (Xero)
        if discount is not None and not 0 <= discount <= 100:
            line_errors.append("DiscountRate must be between 0 and 100.")
        errors.extend(line_errors)
        if line_errors:
            continue
        unit = _round(unit) if unit.as_tuple().exponent >= -2 else unit.quantize(Decimal("0.0001"), ROUND_HALF_UP)
        quantity = quantity.quantize(Decimal("0.0001"), ROUND_HALF_UP)
        gross = quantity * unit
        amount = _round(gross * (1 - discount / 100) if discount else gross)
        rate = TAX_RATES[tax_type] if amount_types != "NoTax" else Decimal(0)
        tax = _round(amount * rate / (1 + rate)) if amount_types == "Inclusive" else _round(amount * rate)
        out.append(Line(description, code if item is not None else None, quantity, unit, discount, amount, tax_type,
                        tax, account))
    return out


def _amounts(lines: list[Line], amount_types: str) -> dict[str, Decimal]:
    total_lines = sum((line.line_amount for line in lines), Decimal("0.00"))
    tax = sum((line.tax_amount for line in lines), Decimal("0.00"))
    gross = sum((_round(line.quantity * line.unit_amount) for line in lines), Decimal("0.00"))
    if amount_types == "Inclusive":
        return {"SubTotal": total_lines - tax, "TotalTax": tax, "Total": total_lines,
                "TotalDiscount": gross - total_lines}
    return {"SubTotal": total_lines, "TotalTax": tax, "Total": total_lines + tax, "TotalDiscount": gross - total_lines}


def _contact_of(store: XeroStore, raw, errors: list[str]) -> int | str | None:
    """The contact idx a document names by ContactID (or by Name: a new name makes a new contact, returned
    as the name itself)."""
    if not isinstance(raw, dict) or not (_text(raw.get("ContactID")) or _text(raw.get("Name"))):
        errors.append("A contact must be specified for this type of transaction.")  # (Xero)
        return None
    if _text(raw.get("ContactID")):
        idx = store.find_slot("contact", _text(raw["ContactID"]))
        if idx is None:
            errors.append(f"The contact with ContactID {_text(raw['ContactID'])} could not be found.")
            return None
    else:
        idx = store._name_index().get(name_key(raw["Name"]))
        if idx is None:
            return _text(raw["Name"])
    contact = store.contact_list[idx]
    if contact.status == "ARCHIVED":
        errors.append(f"The contact {contact.name} is archived; restore it before using it on a new document.")
    return idx


def _document(store: XeroStore, doc, kind: str, numbers: set[str]) -> tuple[dict | None, list[str]]:
    """Check one new invoice or credit note; returns (what to save, errors)."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return None, ["Each document must be a JSON object."]
    want = "ACCREC" if kind == "invoice" else "ACCRECCREDIT"
    doc_type = _text(doc.get("Type")).upper()
    if not doc_type:
        errors.append(f"{'Invoice' if kind == 'invoice' else 'Credit note'} Type must be specified.")
    elif doc_type != want:
        errors.append(f"The sandbox organisation takes only {want} documents here, not '{doc_type}'.")
    contact = _contact_of(store, doc.get("Contact"), errors)
    status = _status(errors, doc.get("Status"), CREATE_STATUSES, "DRAFT")
    amount_types = _text(doc.get("LineAmountTypes")) or "Exclusive"
    amount_types = {t.lower(): t for t in LINE_AMOUNT_TYPES}.get(amount_types.lower(), amount_types)
    if amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}, not '{amount_types}'.")
    currency = _text(doc.get("CurrencyCode")).upper() or "AUD"
    if currency != "AUD":
        errors.append(f"Organisation is not subscribed to currency {currency}")  # (Xero)
    day = _date(doc.get("Date"), "Date", errors)
    due = _date(doc.get("DueDate"), "DueDate", errors)
    if day is not None and due is not None and due < day:
        errors.append("Due Date must be on or after the document Date.")
    number_field = "InvoiceNumber" if kind == "invoice" else "CreditNoteNumber"
    number = _text(doc.get(number_field))
    if number and (number in numbers or number_taken(store, kind, number)):
        errors.append(f"{'Invoice' if kind == 'invoice' else 'Credit Note'} # must be unique.")  # (Xero)
    lines = _lines(store, doc.get("LineItems"), status, amount_types, errors) if amount_types in LINE_AMOUNT_TYPES \
        else []
    amounts = _amounts(lines, amount_types) if lines else None
    if amounts is not None and amounts["Total"] < 0:
        errors.append("The document total cannot be negative.")
    if errors:
        return None, errors
    if number:
        numbers.add(number)
    return {"contact": contact, "status": status, "amount_types": amount_types, "currency": currency, "date": day,
            "due": due, "number": number, "reference": _text(doc.get("Reference")), "lines": lines,
            "amounts": amounts}, []


def number_taken(store: XeroStore, kind: str, number: str) -> bool:
    """Whether an InvoiceNumber (CreditNoteNumber) is in use: numbers given through the API, or the
    INV-/CN- and slot number every other document has."""
    docs = store._manual_invoices if kind == "invoice" else store._manual_credit_notes
    if any(d.number == number for d in docs.values()):
        return True
    count = len(store._i_order) if kind == "invoice" else len(store._c_invoice)
    head, _, digits = number.partition("-")
    return head == ("INV" if kind == "invoice" else "CN") and digits.isdigit() and 1 <= int(digits) <= count


def _echo_document(doc, kind: str, errors: list[str]) -> dict:
    out = dict(doc) if isinstance(doc, dict) else {}
    out.setdefault("InvoiceID" if kind == "invoice" else "CreditNoteID", ZERO_ID)
    out["HasErrors"] = bool(errors)
    out["ValidationErrors"] = [{"Message": m} for m in errors]
    return out


def _new_contact(store: XeroStore, name: str, now: int) -> int:
    contact = XContact(len(store.contact_list), 0, name, "", "", "", "", Address("", "", ""), "ACTIVE", now, now)
    store.contact_list.append(contact)
    store._names.add(name)
    store._name_index()
    return contact.idx


def _save_documents(store: XeroStore, docs: list, kind: str) -> list[int]:
    plural = "Invoices" if kind == "invoice" else "CreditNotes"
    if not isinstance(docs, list) or not docs:
        raise XeroValidation([_echo_document({}, kind, [f"The request must hold at least one document in "
                                                        f"'{plural}'."])])
    numbers: set[str] = set()
    checked, echoed, failed = [], [], False
    for doc in docs:
        plan, errors = _document(store, doc, kind, numbers)
        checked.append(plan)
        echoed.append(_echo_document(doc, kind, errors))
        failed = failed or bool(errors)
    if failed:
        raise XeroValidation(echoed)
    now = ms(store.world.clock.now())
    today = datetime.fromtimestamp(melbourne_date_ms(now)[0] / 1000, timezone.utc).date()  # the organisation's
    slots = []
    for plan in checked:
        contact = plan["contact"]
        if isinstance(contact, str):  # a contact named for the first time: Xero creates it
            contact = store._name_index().get(name_key(contact))
            if contact is None:
                contact = _new_contact(store, plan["contact"], now)
        day = plan["date"] or today
        due = plan["due"] or date.fromordinal(day.toordinal() + DEFAULT_TERMS_DAYS)
        if kind == "invoice":
            slot = len(store._i_order)
            number = plan["number"] or f"INV-{slot + 1:05d}"
            store._i_order.append(MANUAL)
            store._i_contact.append(contact)
            store._i_status.append(INVOICE_STATUSES.index(plan["status"]))
            store._i_created.append(_midnight_ms(day))
            store._i_updated.append(now)
            store._i_adjust.append(-1)
            store._i_payment.append(0)
            store._i_credit.append(0)
            store._manual_invoices[slot] = ManualDoc(number, plan["reference"], contact, plan["lines"],
                                                     plan["amount_types"], _midnight_ms(due), plan["currency"],
                                                     plan["amounts"])
        else:
            slot = len(store._c_invoice)
            number = plan["number"] or f"CN-{slot + 1:05d}"
            store._c_invoice.append(0)
            store._c_created.append(_midnight_ms(day))
            store._c_updated.append(now)
            store._c_status.append(CREDIT_NOTE_STATUSES.index(plan["status"]))
            store._c_payment.append(0)
            store._manual_credit_notes[slot] = ManualDoc(number, plan["reference"], contact, plan["lines"],
                                                         plan["amount_types"], _midnight_ms(due), plan["currency"],
                                                         plan["amounts"])
        slots.append(slot)
    store.version += 1
    return slots


def save_invoices(store: XeroStore, invoices: list) -> list[int]:
    """Create invoices; an element with an InvoiceID changes that invoice's Status instead. Returns slots."""
    if isinstance(invoices, list) and invoices and all(isinstance(i, dict) and _text(i.get("InvoiceID"))
                                                       for i in invoices):
        for inv in invoices:  # check them all first: nothing is saved unless every one is valid
            _status_change(store, _text(inv["InvoiceID"]), inv)
        return [update_invoice(store, _text(inv["InvoiceID"]), inv) for inv in invoices]
    if isinstance(invoices, list) and any(isinstance(i, dict) and _text(i.get("InvoiceID")) for i in invoices):
        raise XeroValidation([_echo_document(i, "invoice", ["The sandbox does not mix new and existing invoices "
                                                            "in one request."]) for i in invoices])
    return _save_documents(store, invoices, "invoice")


def save_credit_notes(store: XeroStore, credit_notes: list) -> list[int]:
    return _save_documents(store, credit_notes, "creditnote")


# -- status changes -------------------------------------------------------------------------
def _status_change(store: XeroStore, invoice_id: str, change) -> tuple[int, str | None]:
    """(slot, new status or None for no change) of a status change Xero allows; else XeroValidation."""
    slot = store.find_slot("invoice", invoice_id)
    if slot is None:
        raise XeroValidation([_echo_document(change, "invoice", [f"The invoice with InvoiceID {invoice_id} could not "
                                                                 "be found."])])
    if not isinstance(change, dict):
        raise XeroValidation([_echo_document({}, "invoice", ["The invoice must be a JSON object."])])
    inv = XInvoice(store, slot)
    wanted = _text(change.get("Status")).upper()
    if not wanted or wanted == inv.status:
        return slot, None
    payment = inv.payment
    paid = payment is not None and payment.status != "DELETED"
    allowed = {"DRAFT": ("SUBMITTED", "AUTHORISED", "DELETED"), "SUBMITTED": ("AUTHORISED", "DELETED", "DRAFT"),
               "AUTHORISED": ("VOIDED",)}.get(inv.status, ())
    if wanted not in allowed or (wanted == "VOIDED" and (paid or inv.credit_note is not None)):
        detail = "Invoice not of valid status for modification"  # (Xero)
        if wanted == "VOIDED" and (paid or inv.credit_note is not None):
            detail += ": it has a payment or credit note allocated; remove that first"
        elif wanted == "DELETED" and inv.status == "AUTHORISED":
            detail += ": an AUTHORISED invoice can be VOIDED, not DELETED"
        elif wanted == "VOIDED" and inv.status in ("DRAFT", "SUBMITTED"):
            detail += ": a DRAFT or SUBMITTED invoice can be DELETED, not VOIDED"
        raise XeroValidation([_echo_document({**change, "InvoiceID": invoice_id}, "invoice", [detail])])
    return slot, wanted


def update_invoice(store: XeroStore, invoice_id: str, invoice: dict) -> int:
    """Change an invoice's Status (approve, void, delete) as Xero allows; returns its slot."""
    slot, status = _status_change(store, invoice_id, invoice)
    if status is not None:
        store._i_status[slot] = INVOICE_STATUSES.index(status)
        store._i_updated[slot] = max(store._i_updated[slot], ms(store.world.clock.now()))
        store.version += 1
    return slot

