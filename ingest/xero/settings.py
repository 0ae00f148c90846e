"""Xero constants: collections, page size, overlap, limits, and the column types dlt must not guess."""

from datetime import timedelta

PAGE_SIZE = 100  # Xero's default page; `pageSize` may go up to 1000
OVERLAP = timedelta(minutes=5)

# refresh the access token (it lives 30 minutes) this long before it expires
REFRESH_MARGIN = timedelta(minutes=2)
# how long a sync waits for another process that is refreshing the same connection
TOKEN_LOCK_WAIT_SECONDS = 60.0

# pacing: when X-MinLimit-Remaining (60 a minute per organisation) falls to this, space the
# calls `pace_seconds` apart (60 a minute is one a second)
MIN_LIMIT_LOW_WATER = 5
PACE_SECONDS = 1.0


class Collection:
    """One Xero collection: its endpoint (also the envelope key), its id, how it pages and
    which status marks a record deleted."""

    def __init__(self, endpoint: str, key: str, *, paged: bool, params: dict | None = None,
                 status_field: str | None = None, deleted: tuple[str, ...] = ()):
        self.endpoint = endpoint
        self.key = key
        self.paged = paged
        self.params = params or {}
        self.status_field = status_field
        self.deleted = deleted


COLLECTIONS = {
    # `page=` is always sent for invoices: without it Xero leaves out the LineItems
    "invoices": Collection("Invoices", "InvoiceID", paged=True, status_field="Status", deleted=("DELETED",)),
    # archived contacts are only listed with includeArchived=true
    "contacts": Collection("Contacts", "ContactID", paged=True, params={"includeArchived": "true"},
                           status_field="ContactStatus", deleted=("ARCHIVED",)),
    "payments": Collection("Payments", "PaymentID", paged=True, status_field="Status", deleted=("DELETED",)),
    "credit_notes": Collection("CreditNotes", "CreditNoteID", paged=True, status_field="Status",
                               deleted=("DELETED",)),
    "items": Collection("Items", "ItemID", paged=False),
    "accounts": Collection("Accounts", "AccountID", paged=False),
}


def _typed(hint: dict, *columns: str) -> dict:
    # a fresh dict per column, named: dlt writes names into root hints and needs them in nested ones
    return {c: {**hint, "name": c} for c in columns}


MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}
UNIT = {"data_type": "decimal", "precision": 18, "scale": 4}  # unit prices and quantities: 4 places
RATE = {"data_type": "decimal", "precision": 18, "scale": 6}
UTC_TIME = {"data_type": "timestamp", "timezone": True}
LOCAL_DATE = {"data_type": "text"}  # `DateString`: the organisation's calendar date, kept verbatim
DELETE_FLAGS = {**_typed(UTC_TIME, "deleted_seen_at"), "is_deleted": {"data_type": "bool"}}

LINE_COLUMNS = {**_typed(MONEY, "line_amount", "tax_amount", "discount_amount"),
                **_typed(UNIT, "unit_amount", "quantity", "discount_rate")}
PAYMENT_REF_COLUMNS = {**_typed(MONEY, "amount", "bank_amount"), **_typed(RATE, "currency_rate"),
                       **_typed(UTC_TIME, "date")}

INVOICE_COLUMNS = {
    **_typed(MONEY, "sub_total", "total_tax", "total", "total_discount", "amount_due", "amount_paid",
             "amount_credited"),
    **_typed(RATE, "currency_rate"),
    **_typed(UTC_TIME, "updated_date_utc", "date", "due_date", "fully_paid_on_date", "expected_payment_date",
             "planned_payment_date"),
    **_typed(LOCAL_DATE, "date_string", "due_date_string"),
    **DELETE_FLAGS,
}
INVOICE_NESTED_HINTS = {
    "line_items": {"columns": LINE_COLUMNS},
    "payments": {"columns": PAYMENT_REF_COLUMNS},
    "credit_notes": {"columns": {**_typed(MONEY, "total", "applied_amount"), **_typed(UTC_TIME, "date"),
                                 **_typed(LOCAL_DATE, "date_string")}},
}
CONTACT_COLUMNS = {**_typed(UTC_TIME, "updated_date_utc"), **DELETE_FLAGS}
PAYMENT_COLUMNS = {
    **_typed(MONEY, "amount", "bank_amount"),
    **_typed(RATE, "currency_rate"),
    **_typed(UTC_TIME, "date", "updated_date_utc"),
    **DELETE_FLAGS,
}
CREDIT_NOTE_COLUMNS = {
    **_typed(MONEY, "sub_total", "total_tax", "total", "remaining_credit"),
    **_typed(RATE, "currency_rate"),
    **_typed(UTC_TIME, "date", "due_date", "updated_date_utc", "fully_paid_on_date"),
    **_typed(LOCAL_DATE, "date_string", "due_date_string"),
    **DELETE_FLAGS,
}
CREDIT_NOTE_NESTED_HINTS = {
    "line_items": {"columns": LINE_COLUMNS},
    "payments": {"columns": PAYMENT_REF_COLUMNS},
    "allocations": {"columns": {**_typed(MONEY, "amount"), **_typed(UTC_TIME, "date")}},
}
ITEM_COLUMNS = {
    **_typed(UTC_TIME, "updated_date_utc"),
    **_typed(UNIT, "purchase_details__unit_price", "sales_details__unit_price"),
}
ACCOUNT_COLUMNS = _typed(UTC_TIME, "updated_date_utc")

HINTS = {
    "invoices": (INVOICE_COLUMNS, INVOICE_NESTED_HINTS),
    "contacts": (CONTACT_COLUMNS, None),
    "payments": (PAYMENT_COLUMNS, None),
    "credit_notes": (CREDIT_NOTE_COLUMNS, CREDIT_NOTE_NESTED_HINTS),
    "items": (ITEM_COLUMNS, None),
    "accounts": (ACCOUNT_COLUMNS, None),
}
