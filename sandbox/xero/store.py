"""The grocer's Xero organisation inside the world: contacts, invoices, payments, credit notes.

A bookkeeping integration copies web orders into Xero: one ACCREC invoice per WooCommerce
order (Reference = the order number, one line per SKU plus delivery, GST as OUTPUT), a
payment for each paid order, a credit note (refunded in cash) for each refunded order, and
a contact per customer. Like real integrations it gets some orders wrong, and the world
records which: `invoice_faults[order_id]` is "missing" (never invoiced), "amount_mismatch"
(a line priced wrongly, so the total differs from the order) or "voided" (the invoice was
VOIDED, or DELETED while a draft: cancelled and failed orders, and orders later trashed or
deleted in WooCommerce).

Invoices, payments and credit notes are columns of machine ints (sandbox/columns.py), one slot
per record, seen through `XInvoice`/`XPayment`/`XCreditNote` views; an invoice keeps its web
order's row, and its lines and amounts are worked out from the order when asked for.

OAuth2 state (rotating refresh tokens, short-lived access tokens) and the per-tenant rate
limiter live here too, each with an injectable clock so tests can move time.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
import zlib
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sandbox import draws
from sandbox.catalog import CATALOG, CatalogItem
from sandbox.columns import NO_TIME, IdIndex, View, code_column, int_column, utc_text, zone_offset
from sandbox.people import Address, name_variant
from sandbox.woocommerce.store import ORDER_STATUSES, shipping_for

CENT = Decimal("0.01")
GST = Decimal("0.10")
MISSING_RATE = 0.03
MISMATCH_RATE = 0.02
BAD_DATA_EVERY = 40
ORG_TZ = ZoneInfo("Australia/Melbourne")

ACCOUNTS = (  # code, name, type, tax type, class
    ("090", "Business Bank Account", "BANK", "BASEXCLUDED", "ASSET"),
    ("200", "Sales", "REVENUE", "OUTPUT", "REVENUE"),
    ("260", "Other Revenue", "REVENUE", "OUTPUT", "REVENUE"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT", "EXPENSE"),
    ("400", "Advertising", "EXPENSE", "INPUT", "EXPENSE"),
    ("404", "Bank Fees", "EXPENSE", "BASEXCLUDED", "EXPENSE"),
    ("610", "Accounts Receivable", "CURRENT", "BASEXCLUDED", "ASSET"),
    ("800", "Accounts Payable", "CURRLIAB", "BASEXCLUDED", "LIABILITY"),
    ("820", "GST", "CURRLIAB", "BASEXCLUDED", "LIABILITY"),
    ("970", "Owner A Funds Introduced", "EQUITY", "BASEXCLUDED", "EQUITY"),
)


def ms(dt: datetime) -> int:
    return int(dt.timestamp()) * 1000


def uid(seed: int, kind: str, n: int) -> str:
    """A stable GUID for the n-th record of a kind (Xero ids are GUIDs)."""
    h = hashlib.blake2b(f"{seed}:xero:{kind}:{n}".encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def bad_kind(record_id: str) -> int:
    return zlib.crc32(f"bad:{record_id}".encode()) % BAD_DATA_EVERY


# -- OAuth2 -----------------------------------------------------------------------
class XeroAuth:
    """Xero's identity server: refresh tokens rotate, the old one survives a grace period.

    `clock` (seconds, wall time) is injectable; `grace_seconds` and `access_ttl` configurable.
    Tokens are signed with the seed (the k-th refresh token, an access token with its expiry), so
    a world rebuilt in another process still accepts a refresh token it issued later in the
    sequence than any it knows of (the identity server outlives a sandbox restart), and access
    tokens until they expire; older refresh tokens it no longer holds are `invalid_grant`."""

    def __init__(self, seed: int, clock=time.time, grace_seconds: float = 1800, access_ttl: int = 1800):
        self.seed = seed
        self.clock = clock
        self.grace_seconds = grace_seconds
        self.access_ttl = access_ttl
        self.client_id = hashlib.blake2b(f"{seed}:xero:client".encode(), digest_size=16).hexdigest().upper()
        self.client_secret = "xs_" + hashlib.blake2b(f"{seed}:xero:secret".encode(), digest_size=18).hexdigest()
        self._lock = threading.Lock()
        self._next_refresh = 1
        self._next_access = itertools.count(1)
        first = self._refresh_token(0)
        self.current_refresh_token = first
        self.refresh_tokens: dict[str, float | None] = {first: None}  # live token -> when it was superseded

    def _sign(self, text: str) -> str:
        return hashlib.blake2b(f"{self.seed}:xero:{text}".encode(), digest_size=24).hexdigest()

    def _refresh_token(self, k: int) -> str:
        return f"{self._sign(f'refresh:{k}')}{k:08x}"

    def _refresh_index(self, token: str) -> int | None:
        if len(token) != 56:
            return None
        try:
            k = int(token[48:], 16)
        except ValueError:
            return None
        return k if token == self._refresh_token(k) else None

    def live_refresh_tokens(self) -> set[str]:
        """The refresh tokens that would still be accepted now (the current one, plus any in grace)."""
        with self._lock:
            self._purge()
            return set(self.refresh_tokens)

    def _purge(self) -> None:
        now = self.clock()
        for token, superseded in list(self.refresh_tokens.items()):
            if superseded is not None and now > superseded + self.grace_seconds:
                del self.refresh_tokens[token]

    def refresh(self, token: str) -> dict | None:
        """A new token set for a live refresh token, or None (invalid_grant)."""
        with self._lock:
            self._purge()
            k = self._refresh_index(token)
            if token not in self.refresh_tokens:
                if k is None or k < self._next_refresh:
                    return None
                self._next_refresh = k + 1  # issued by this identity server before a sandbox restart
            now = self.clock()
            for old, superseded in self.refresh_tokens.items():
                if superseded is None:
                    self.refresh_tokens[old] = now
            self.refresh_tokens[token] = self.refresh_tokens.get(token) or now
            new_refresh = self._refresh_token(self._next_refresh)
            self._next_refresh += 1
            self.refresh_tokens[new_refresh] = None
            self.current_refresh_token = new_refresh
            n = next(self._next_access)
            expiry = int(now) + self.access_ttl
            access = f"{self._sign(f'access:{n}:{expiry}')}{n:08x}{expiry:012x}"
            return {"access_token": access, "expires_in": self.access_ttl, "token_type": "Bearer",
                    "refresh_token": new_refresh,
                    "scope": "offline_access accounting.transactions.read accounting.contacts.read "
                             "accounting.settings.read"}

    def check_access(self, token: str) -> tuple[str, float | None]:
        """("ok" | "expired" | "invalid", expiry)."""
        if len(token) != 68:
            return "invalid", None
        try:
            n, expiry = int(token[48:56], 16), int(token[56:], 16)
        except ValueError:
            return "invalid", None
        if token[:48] != self._sign(f"access:{n}:{expiry}"):
            return "invalid", None
        return ("ok" if self.clock() < expiry else "expired"), expiry


# -- rate limits ------------------------------------------------------------------------
class RateLimiter:
    """Per tenant: 60 calls a minute, 5000 a day, 5 at once; 10,000 a minute across the app.

    Windows start at their first call (minute: 60 s, day: 24 h) on the injectable `clock`."""

    DAY_LIMIT = 5000
    MINUTE_LIMIT = 60
    CONCURRENT_LIMIT = 5
    APP_MINUTE_LIMIT = 10000

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._minute: dict[str, list[float]] = {}  # tenant -> [window start, count]
        self._day: dict[str, list[float]] = {}
        self._app = [None, 0]
        self._in_flight: dict[str, int] = {}

    @staticmethod
    def _window(w: list, now: float, length: float) -> list:
        if w[0] is None or now - w[0] >= length:
            w[0], w[1] = now, 0
        return w

    def acquire(self, tenant: str, minute_limit: int, enforce: bool) -> tuple[str | None, int, dict[str, str]]:
        """Count a call. Returns (problem or None, retry-after seconds, headers)."""
        with self._lock:
            now = self.clock()
            minute = self._window(self._minute.setdefault(tenant, [None, 0]), now, 60)
            day = self._window(self._day.setdefault(tenant, [None, 0]), now, 86400)
            app = self._window(self._app, now, 60)
            problem, retry = None, 0
            if enforce:
                if day[1] >= self.DAY_LIMIT:
                    problem, retry = "day", day[0] + 86400 - now
                elif minute[1] >= minute_limit:
                    problem, retry = "minute", minute[0] + 60 - now
                elif app[1] >= self.APP_MINUTE_LIMIT:
                    problem, retry = "appminute", app[0] + 60 - now
                elif self._in_flight.get(tenant, 0) >= self.CONCURRENT_LIMIT:
                    problem, retry = "concurrent", 1
            if problem is None:
                minute[1] += 1
                day[1] += 1
                app[1] += 1
                self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1
            headers = self._headers(tenant, minute_limit)
            return problem, max(1, int(-(-retry // 1))) if problem else 0, headers

    def release(self, tenant: str) -> None:
        with self._lock:
            self._in_flight[tenant] = max(0, self._in_flight.get(tenant, 0) - 1)

    def headers(self, tenant: str, minute_limit: int) -> dict[str, str]:
        with self._lock:
            return self._headers(tenant, minute_limit)

    def _headers(self, tenant: str, minute_limit: int) -> dict[str, str]:
        now = self.clock()
        minute = self._minute.get(tenant, [None, 0])
        day = self._day.get(tenant, [None, 0])
        used_min = minute[1] if minute[0] is not None and now - minute[0] < 60 else 0
        used_day = day[1] if day[0] is not None and now - day[0] < 86400 else 0
        used_app = self._app[1] if self._app[0] is not None and now - self._app[0] < 60 else 0
        return {"X-DayLimit-Remaining": str(max(0, self.DAY_LIMIT - used_day)),
                "X-MinLimit-Remaining": str(max(0, minute_limit - used_min)),
                "X-AppMinLimit-Remaining": str(max(0, self.APP_MINUTE_LIMIT - used_app))}

    def exhaust_day(self, tenant: str) -> None:
        """Use up the tenant's day: every call answers 429 day until `reset_day`."""
        with self._lock:
            self._day[tenant] = [self.clock(), self.DAY_LIMIT]

    def reset_day(self, tenant: str | None = None) -> None:
        with self._lock:
            for t in [tenant] if tenant else list(self._day):
                self._day.pop(t, None)

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app = [None, 0]


# -- records -------------------------------------------------------------------------
@dataclass(slots=True)
class XAccount:
    idx: int
    code: str
    name: str
    type: str
    tax_type: str
    cls: str
    updated_ms: int


@dataclass(slots=True)
class XItem:
    idx: int
    item: CatalogItem
    name: str  # Xero's own name for the SKU
    price: Decimal  # Xero's own sale price (GST exclusive)
    cost: Decimal
    updated_ms: int


@dataclass(slots=True)
class XContact:
    idx: int
    person_id: int
    name: str
    first_name: str
    last_name: str
    email: str
    phone: str
    address: Address
    status: str  # ACTIVE | ARCHIVED
    created_ms: int
    updated_ms: int


INVOICE_STATUSES = ("DRAFT", "AUTHORISED", "PAID", "VOIDED", "DELETED", "SUBMITTED")  # SUBMITTED: API only
PAYMENT_STATUSES = ("AUTHORISED", "DELETED")
CREDIT_NOTE_STATUSES = ("PAID", "DRAFT", "SUBMITTED", "AUTHORISED", "VOIDED", "DELETED")
MANUAL = 0xFFFFFFFF  # the order row (invoices) of a document created through the API (sandbox/xero/writes.py)


@dataclass(slots=True)
class ManualDoc:
    """What an invoice or credit note created through the API says (it has no web order to work it out from)."""

    number: str  # InvoiceNumber / CreditNoteNumber
    reference: str
    contact: int  # contact idx
    lines: list  # list[Line]
    line_amount_types: str  # Exclusive | Inclusive | NoTax
    due_ms: int | None
    currency: str
    amounts: dict  # SubTotal, TotalTax, Total, TotalDiscount
ADJUSTMENTS = tuple(Decimal(x) for x in ("0.50", "-0.30", "1.00", "-0.45", "0.25", "2.10"))
_INV = {s: i for i, s in enumerate(INVOICE_STATUSES)}
_DRAFT, _AUTHORISED, _PAID, _VOIDED, _DELETED = range(5)


class XInvoice(View):
    """An ACCREC invoice, read from (and written to) the store's invoice columns; number = row + 1."""

    __slots__ = ()

    status = code_column("_i_status", INVOICE_STATUSES)  # DRAFT | AUTHORISED | PAID | VOIDED | DELETED
    created_ms = int_column("_i_created")
    updated_ms = int_column("_i_updated")

    @property
    def number(self) -> int:
        return self._i + 1

    @property
    def manual(self) -> ManualDoc | None:
        """What it says, when it was created through the API (None: made from a web order)."""
        return self._s._manual_invoices.get(self._i) if self._s._i_order[self._i] == MANUAL else None

    @property
    def order(self):
        """The WooOrder it was made from (kept after WooCommerce deletes it); None if created through the API."""
        row = self._s._i_order[self._i]
        return None if row == MANUAL else self._s.world.woocommerce.order_at(row)

    @property
    def reference(self) -> str:
        doc = self.manual
        return str(self.order.id) if doc is None else doc.reference

    @property
    def contact(self) -> XContact:
        return self._s.contact_list[self._s._i_contact[self._i]]

    @property
    def adjust(self) -> Decimal | None:
        """amount_mismatch: added to the first line's unit price."""
        k = self._s._i_adjust[self._i]
        return None if k < 0 else ADJUSTMENTS[k]

    @property
    def payment(self) -> XPayment | None:
        n = self._s._i_payment[self._i]
        return XPayment(self._s, n - 1) if n else None

    @property
    def credit_note(self) -> XCreditNote | None:
        n = self._s._i_credit[self._i]
        return XCreditNote(self._s, n - 1) if n else None


class XPayment(View):
    """Pays an invoice in full, or refunds a credit note in full (the amount is worked out when rendered)."""

    __slots__ = ()

    date_ms = int_column("_p_date")
    status = code_column("_p_status", PAYMENT_STATUSES)  # AUTHORISED | DELETED
    updated_ms = int_column("_p_updated")

    @property
    def number(self) -> int:
        return self._i + 1

    @property
    def invoice(self) -> XInvoice | None:
        n = self._s._p_invoice[self._i]
        return XInvoice(self._s, n - 1) if n else None

    @property
    def credit_note(self) -> XCreditNote | None:
        n = self._s._p_credit[self._i]
        return XCreditNote(self._s, n - 1) if n else None


class XCreditNote(View):
    """Credits its invoice in full (same lines, same total)."""

    __slots__ = ()

    created_ms = int_column("_c_created")
    updated_ms = int_column("_c_updated")
    status = code_column("_c_status", CREDIT_NOTE_STATUSES)  # PAID (refunded in cash); others via the API

    @property
    def number(self) -> int:
        return self._i + 1

    @property
    def invoice(self) -> XInvoice | None:
        """The invoice it credits in full; None for a credit note created through the API."""
        n = self._s._c_invoice[self._i]
        return XInvoice(self._s, n - 1) if n else None

    @property
    def manual(self) -> ManualDoc | None:
        return self._s._manual_credit_notes.get(self._i) if not self._s._c_invoice[self._i] else None

    @property
    def contact(self) -> XContact:
        doc = self.manual
        return self.invoice.contact if doc is None else self._s.contact_list[doc.contact]

    @property
    def reference(self) -> str:
        doc = self.manual
        return self.invoice.reference if doc is None else doc.reference

    @property
    def payment(self) -> XPayment | None:
        n = self._s._c_payment[self._i]
        return XPayment(self._s, n - 1) if n else None


class Rows(Sequence):
    """A column table as a list of views (store.invoices, store.payments, store.credit_notes)."""

    def __init__(self, store, view, column: str):
        self._s, self._view, self._column = store, view, column

    def __len__(self) -> int:
        return len(getattr(self._s, self._column))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._view(self._s, r) for r in range(len(self))[i]]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        return self._view(self._s, i)

    def __iter__(self):
        s, view = self._s, self._view
        return (view(s, r) for r in range(len(self)))


class InvoiceByOrder(Mapping):
    """`store.invoice_by_order`: web order id -> its invoice (orders WooCommerce deleted later included)."""

    def __init__(self, store: XeroStore):
        self._s = store

    def __getitem__(self, oid) -> XInvoice:
        s = self._s
        row = s.world.woocommerce.index_of(oid)
        n = s._inv_of_row[row] if row is not None and row < len(s._inv_of_row) else 0
        if not n:
            raise KeyError(oid)
        return XInvoice(s, n - 1)

    def __contains__(self, oid) -> bool:
        s = self._s
        row = s.world.woocommerce.index_of(oid)
        return row is not None and row < len(s._inv_of_row) and s._inv_of_row[row] != 0

    def __len__(self) -> int:
        return len(self._s._i_order) - len(self._s._manual_invoices)

    def __iter__(self):
        ids, rows = self._s.world.woocommerce._o_id, self._s._i_order
        return (ids[r] for r in rows if r != MANUAL)


@dataclass(frozen=True, slots=True)
class Line:
    description: str
    item_code: str | None
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    line_amount: Decimal
    tax_type: str
    tax_amount: Decimal
    account_code: str


def invoice_lines(inv: XInvoice) -> list[Line]:
    """The invoice's lines: Xero's arithmetic (exclusive amounts, 10% GST per line)."""
    order = inv.order
    if order is None:
        return inv.manual.lines
    discount = Decimal("10") if order.coupon else None
    lines = []
    order_lines = order.lines
    adjust = inv.adjust
    for i, wl in enumerate(order_lines):
        unit = wl.price + (adjust if i == 0 and adjust is not None else 0)
        qty = Decimal(wl.quantity)
        amount = qty * unit
        if discount is not None:
            amount = amount * (1 - discount / 100)
        amount = amount.quantize(CENT)
        tax = (amount * GST).quantize(CENT) if wl.gst else Decimal("0.00")
        lines.append(Line(wl.name, wl.sku, qty, unit, discount, amount, "OUTPUT" if wl.gst else "EXEMPTOUTPUT",
                          tax, "200"))
    shipping = shipping_for(order_lines)
    if shipping:
        lines.append(Line("Local delivery", None, Decimal(1), shipping, None, shipping, "OUTPUT",
                          (shipping * GST).quantize(CENT), "260"))
    return lines


def invoice_amounts(inv: XInvoice) -> dict[str, Decimal]:
    doc = inv.manual
    return amounts_of(invoice_lines(inv)) if doc is None else doc.amounts


def amounts_of(lines: list[Line]) -> dict[str, Decimal]:
    """`invoice_amounts` from the invoice's lines."""
    sub = sum((line.line_amount for line in lines), Decimal("0.00"))
    tax = sum((line.tax_amount for line in lines), Decimal("0.00"))
    gross = sum(((line.quantity * line.unit_amount).quantize(CENT) for line in lines), Decimal("0.00"))
    return {"SubTotal": sub, "TotalTax": tax, "Total": sub + tax, "TotalDiscount": gross - sub}


_KIND_IDS = {"invoices": "invoice", "contacts": "contact", "payments": "payment", "credit_notes": "creditnote"}


class XeroStore:
    """State of the Xero organisation; `advance` changes it the way the bookkeeping integration does."""

    def __init__(self, world, rng: random.Random):
        self.world = world
        self.rng = rng
        self._below = draws.below(rng)  # rng.randrange(n), cheaper (same draws)
        self.seed = world.seed
        self.version = 0
        self.tenant_id = uid(self.seed, "tenant", 0)
        self.auth = XeroAuth(self.seed)
        self.limiter = RateLimiter()
        now = world.clock.now()
        woo = world.woocommerce
        self.org_created = now - timedelta(days=400)
        base = ms(self.org_created)
        self.accounts = [XAccount(i, *row, base + i * 61_000) for i, row in enumerate(ACCOUNTS)]
        self.items: list[XItem] = []
        for i, item in enumerate(CATALOG):
            style = rng.randrange(4)
            name = (item.name, item.name.upper(), f"{item.category} - {item.name}",
                    " ".join(reversed(item.name.split(" ", 1))))[style]
            price = (item.price * Decimal(rng.choice(("1", "1", "1.05", "0.95", "1.10")))).quantize(CENT)
            cost = (item.price * Decimal("0.55")).quantize(CENT)
            self.items.append(XItem(i, item, name, price, cost, base + 86_400_000 + i * 7_000 + rng.randrange(1000)))
        self.contacts: dict[int, XContact] = {}  # person_id -> contact
        self.contact_list: list[XContact] = []
        self._names: set[str] = set()
        # invoices, payments and credit notes: columns, one slot per record; number = slot + 1
        self._i_order = array("I")  # WooCommerce order row
        self._i_contact = array("I")  # contact idx
        self._i_status = array("B")  # index into INVOICE_STATUSES
        self._i_created = array("q")  # epoch ms
        self._i_updated = array("q")
        self._i_adjust = array("b")  # index into ADJUSTMENTS, -1 for none
        self._i_payment = array("I")  # payment number, 0 for none
        self._i_credit = array("I")  # credit note number, 0 for none
        self._p_invoice = array("I")  # invoice number (0: refunds a credit note)
        self._p_credit = array("I")  # credit note number (0: pays an invoice)
        self._p_date = array("q")
        self._p_status = array("B")  # index into PAYMENT_STATUSES
        self._p_updated = array("q")
        self._c_invoice = array("I")
        self._c_created = array("q")
        self._c_updated = array("q")
        self._c_status = array("B")
        self._c_payment = array("I")
        self._inv_of_row = array("I")  # WooCommerce order row -> invoice number (0: none), for synced rows
        # documents created through the API (sandbox/xero/writes.py): slot -> what they say
        self._manual_invoices: dict[int, ManualDoc] = {}
        self._manual_credit_notes: dict[int, ManualDoc] = {}
        self.idempotency: dict[str, tuple[str, int, str, int]] = {}  # key -> (fingerprint, status, body, at ms)
        self._ids: dict[str, IdIndex] = {}  # GUID -> slot, for writes that name a record
        self._names_by_key: dict[str, int] = {}  # see _name_index
        self._names_indexed = 0
        self.invoices = Rows(self, XInvoice, "_i_order")  # by number - 1
        self.payments = Rows(self, XPayment, "_p_date")
        self.credit_notes = Rows(self, XCreditNote, "_c_invoice")
        self.invoice_by_order = InvoiceByOrder(self)
        self.invoice_faults: dict[int, str] = {}
        self._changed: dict[str, set[str]] | None = None
        hi = ms(now)
        rows = woo.live_rows()
        rows.sort(key=woo._o_created.__getitem__)  # (created, id): rows are in id order and the sort is stable
        self._synced = woo.row_count
        self._inv_of_row.frombytes(bytes(self._inv_of_row.itemsize * self._synced))
        for row in rows:
            self._sync_new_order(row, None, hi)
        for c in self.contact_list:  # customers who asked to be archived, or duplicates the bookkeeper tidied
            if rng.random() < 0.05 and c.updated_ms < hi - 3_600_000:
                c.status = "ARCHIVED"
                c.updated_ms = rng.randrange(c.updated_ms + 1000, hi)
        self._seen_deleted = set(woo.deleted_orders)

    # -- ids ------------------------------------------------------------------
    def invoice_id(self, inv: XInvoice) -> str:
        return uid(self.seed, "invoice", inv.number)

    def contact_id(self, c: XContact) -> str:
        return uid(self.seed, "contact", c.idx)

    def payment_id(self, p: XPayment) -> str:
        return uid(self.seed, "payment", p.number)

    def credit_note_id(self, cn: XCreditNote) -> str:
        return uid(self.seed, "creditnote", cn.number)

    def item_id(self, item: XItem) -> str:
        return uid(self.seed, "item", item.idx)

    def account_id(self, account: XAccount) -> str:
        return uid(self.seed, "account", account.idx)

    def _touch(self, kind: str, key: int) -> None:
        """Record a change: `key` is the number (an invoice's, payment's, credit note's) or a contact's idx."""
        if self._changed is not None:  # ids are only worked out while advancing
            self._changed[kind].add(uid(self.seed, _KIND_IDS[kind], key))

    # -- syncing orders -------------------------------------------------------------
    def _when(self, candidate: int, lo: int | None, hi: int) -> int:
        """A change time in (lo, hi], as close to `candidate` as that allows."""
        t = min(candidate, hi)
        if lo is not None:
            t = max(t, lo + 1)
        return t

    def _contact_for(self, row: int, at: int) -> XContact:
        """The contact for WooCommerce's order in `row` (created the first time its buyer is invoiced)."""
        woo = self.world.woocommerce
        c = self.contacts.get(woo._o_person[row])
        if c is not None:
            if c.status == "ARCHIVED":  # invoicing an archived contact restores it
                c.status = "ACTIVE"
                c.updated_ms = max(c.updated_ms, at)
                self._touch("contacts", c.idx)
            return c
        order = woo.order_at(row)
        rng = self.rng
        first = name_variant(rng, order.first_name)
        roll = rng.random()
        if roll < 0.08:
            name = f"{first} {order.last_name}".upper()
        elif roll < 0.15:
            name = f"{order.last_name}, {first}"
        else:
            name = f"{first} {order.last_name}"
        if name in self._names:  # Xero contact names are unique: the integration appends the email
            name = f"{name} ({order.email.strip().lower()})"
        self._names.add(name)
        c = XContact(len(self.contact_list), order.person_id, name, first, order.last_name, order.email.strip(),
                     order.phone, order.billing, "ACTIVE", at, at)
        self.contacts[order.person_id] = c
        self.contact_list.append(c)
        self._touch("contacts", c.idx)
        return c

    def _sync_new_order(self, row: int, lo: int | None, hi: int) -> None:
        """Invoice WooCommerce's order in `row` (or get it wrong, as recorded in invoice_faults)."""
        woo = self.world.woocommerce
        rng = self.rng
        roll = rng.random()
        delay = 30_000 + self._below(870_000)  # rng.randrange(30_000, 900_000)
        order_id = woo._o_id[row]
        if roll < MISSING_RATE:
            self.invoice_faults[order_id] = "missing"
            return
        created = self._when(woo._o_created[row] * 1000 + delay, lo, hi)
        contact = self._contact_for(row, created)
        status = ORDER_STATUSES[woo._o_status[row]]
        number = len(self._i_order) + 1
        self._i_order.append(row)
        self._i_contact.append(contact.idx)
        self._i_status.append(_DRAFT if status == "pending" else _AUTHORISED)
        self._i_created.append(created)
        self._i_updated.append(created)
        if roll < MISSING_RATE + MISMATCH_RATE:
            self._i_adjust.append(rng.choice(range(len(ADJUSTMENTS))))
            self.invoice_faults[order_id] = "amount_mismatch"
        else:
            self._i_adjust.append(-1)
        self._i_payment.append(0)
        self._i_credit.append(0)
        self._inv_of_row[row] = number
        self._touch("invoices", number)
        if status in ("cancelled", "failed"):
            self._cancel(number, self._when(max(woo._o_modified[row] * 1000, created + 60_000), lo, hi))
            return
        paid = woo._o_paid[row]
        if paid != NO_TIME:
            self._pay(number, self._when(max(paid * 1000, created + 1000), lo, hi))
        if status == "refunded":
            self._credit(number, self._when(max(woo._o_modified[row] * 1000, self._i_updated[number - 1] + 1000),
                                            lo, hi))

    def _new_payment(self, invoice: int, credit_note: int, at: int) -> int:
        self._p_invoice.append(invoice)
        self._p_credit.append(credit_note)
        self._p_date.append(at)
        self._p_status.append(0)  # AUTHORISED
        self._p_updated.append(at)
        return len(self._p_date)

    def _pay(self, number: int, at: int) -> None:
        i = number - 1
        if self._i_payment[i] or self._i_status[i] in (_VOIDED, _DELETED):
            return
        p = self._new_payment(number, 0, at)
        self._i_payment[i] = p
        self._i_status[i] = _PAID
        self._i_updated[i] = max(self._i_updated[i], at)
        self._touch("payments", p)
        self._touch("invoices", number)

    def _credit(self, number: int, at: int) -> None:
        i = number - 1
        if self._i_credit[i] or self._i_status[i] in (_VOIDED, _DELETED):
            return
        self._c_invoice.append(number)
        self._c_created.append(at)
        self._c_updated.append(at)
        self._c_status.append(0)  # PAID
        self._c_payment.append(0)
        cn = len(self._c_invoice)
        self._i_credit[i] = cn
        refund = self._new_payment(0, cn, at)
        self._c_payment[cn - 1] = refund
        self._touch("credit_notes", cn)
        self._touch("payments", refund)

    def _cancel(self, number: int, at: int) -> None:
        i = number - 1
        if self._i_status[i] in (_VOIDED, _DELETED):
            return
        if self._i_status[i] == _DRAFT:
            self._i_status[i] = _DELETED
        else:
            p = self._i_payment[i]
            if p and self._p_status[p - 1] != 1:
                self._p_status[p - 1] = 1  # DELETED: a paid invoice cannot be voided until its payment is removed
                self._p_updated[p - 1] = at
                self._touch("payments", p)
            self._i_status[i] = _VOIDED
        self._i_updated[i] = max(self._i_updated[i], at)
        self.invoice_faults[self.world.woocommerce._o_id[self._i_order[i]]] = "voided"
        self._touch("invoices", number)

    # -- time moves -------------------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[str]]:
        """Apply `hours` of bookkeeping between t0 and t1; return the Xero ids (GUIDs) that changed."""
        rng = self.rng
        woo = self.world.woocommerce
        lo, hi = ms(t0), ms(t1)
        span = max(1, hi - lo)
        self._changed = changed = {"invoices": set(), "contacts": set(), "payments": set(),
                                   "credit_notes": set(), "items": set(), "accounts": set()}
        try:
            o_modified, gone = woo._o_modified, woo._o_deleted
            old = self._synced
            fresh = [r for r in range(old, woo.row_count) if not gone[r]]
            fresh.sort(key=woo._o_created.__getitem__)  # (created, id)
            self._synced = woo.row_count
            self._inv_of_row.frombytes(bytes(self._inv_of_row.itemsize * (self._synced - old)))
            for row in fresh:
                self._sync_new_order(row, lo, hi)
            t0s, t1s = int(t0.timestamp()), int(t1.timestamp())
            # orders changed through the WooCommerce API were stamped at the start of this window
            written, woo.api_modified_rows = woo.api_modified_rows, set()
            for row in range(old):
                if gone[row] or not (t0s < o_modified[row] <= t1s or (written and row in written)):
                    continue
                number = self._inv_of_row[row]
                if not number:
                    continue
                order, inv = woo.order_at(row), XInvoice(self, number - 1)
                at = self._when(ms(order.modified) + rng.randrange(30_000, 600_000), lo, hi)
                at = max(at, min(hi, inv.updated_ms + 1000))
                if order.trashed:
                    self._cancel(number, at)
                    continue
                if order.status in ("processing", "completed", "refunded") and inv.status in ("DRAFT", "AUTHORISED"):
                    if inv.status == "DRAFT":
                        inv.status = "AUTHORISED"
                        inv.updated_ms = max(inv.updated_ms, at)
                        self._touch("invoices", number)
                    self._pay(number, at)
                if order.status == "refunded":
                    self._credit(number, self._when(max(at, inv.updated_ms + 1000), lo, hi))
            for oid in sorted(woo.deleted_orders - self._seen_deleted):
                inv = self.invoice_by_order.get(oid)
                if inv is not None:
                    self._cancel(inv.number, lo + rng.randint(1, span))
            self._seen_deleted = set(woo.deleted_orders)
            # customers who moved: the integration updates the contact's address
            for cust in woo.customers.values():
                if t0 < cust.modified <= t1 and cust.created <= t0:
                    c = self.contacts.get(cust.person_id)
                    if c is not None and c.address != cust.billing:
                        c.address = cust.billing
                        c.updated_ms = max(c.updated_ms, self._when(ms(cust.modified) + 60_000, lo, hi))
                        self._touch("contacts", c.idx)
            # now and then the bookkeeper archives a contact
            if rng.random() < min(1.0, hours / 24):
                active = [c for c in self.contact_list if c.status == "ACTIVE" and c.updated_ms <= lo]
                if active:
                    c = rng.choice(active)
                    c.status = "ARCHIVED"
                    c.updated_ms = lo + rng.randint(1, span)
                    self._touch("contacts", c.idx)
        finally:
            self._changed = None
        self.version += 1
        return changed

    # -- ground truth -------------------------------------------------------------------
    def current_invoice_faults(self) -> dict[int, str]:
        """invoice_faults for the orders WooCommerce still has (trashed ones included): what a
        reconciliation of synced WooCommerce orders against Xero invoices can see."""
        orders = self.world.woocommerce.orders
        return {oid: kind for oid, kind in self.invoice_faults.items() if oid in orders}

    def orphaned_invoice_orders(self) -> set[int]:
        """Order ids (invoice References) whose WooCommerce order was force-deleted: their invoices
        are VOIDED/DELETED in Xero and have no order left to reconcile against."""
        woo = self.world.woocommerce
        ids, gone = woo._o_id, woo._o_deleted
        return {ids[row] for row in self._i_order if row != MANUAL and gone[row]}

    def invoice_for_order(self, order_id: int) -> XInvoice | None:
        return self.invoice_by_order.get(order_id)

    def invoice_total(self, order_id: int) -> Decimal | None:
        inv = self.invoice_by_order.get(order_id)
        return None if inv is None else invoice_amounts(inv)["Total"]

    def invoices_for_reference(self, reference) -> list[XInvoice]:
        """Every invoice whose Reference is `reference` (a web order number), generated or created
        through the API, in number order."""
        ref = str(reference)
        out = []
        inv = self.invoice_by_order.get(int(ref)) if ref.isdigit() else None
        if inv is not None:
            out.append(inv)
        out += [XInvoice(self, row) for row, doc in self._manual_invoices.items() if doc.reference == ref]
        return sorted(out, key=lambda i: i.number)

    def credit_notes_for_reference(self, reference) -> list[XCreditNote]:
        ref = str(reference)
        return [cn for cn in self.credit_notes if cn.reference == ref]

    def contact_named(self, name: str) -> XContact | None:
        from sandbox.xero.writes import name_key

        idx = self._name_index().get(name_key(name))
        return None if idx is None else self.contact_list[idx]

    def _name_index(self) -> dict[str, int]:
        """Contact names (trimmed, case folded) -> idx: Xero contact names are unique."""
        from sandbox.xero.writes import name_key

        index = self._names_by_key
        for c in self.contact_list[self._names_indexed:]:
            index.setdefault(name_key(c.name), c.idx)
        self._names_indexed = len(self.contact_list)
        return index

    def find_slot(self, kind: str, guid: str) -> int | None:
        """The slot of the invoice ("invoice"), credit note ("creditnote") or contact ("contact") with this id."""
        counts = {"invoice": len(self._i_order), "creditnote": len(self._c_invoice), "contact": len(self.contact_list)}
        number = 0 if kind == "contact" else 1
        index = self._ids.get(kind)
        if index is None:
            index = self._ids[kind] = IdIndex(lambda slot: uid(self.seed, kind, slot + number))
        return index.find(guid.strip().lower(), counts[kind])

    # -- writes through the API (sandbox/xero/writes.py; journalled by world.write) ---------------
    def save_contacts(self, contacts: list) -> list[int]:
        from sandbox.xero import writes

        return writes.save_contacts(self, contacts)

    def save_invoices(self, invoices: list) -> list[int]:
        from sandbox.xero import writes

        return writes.save_invoices(self, invoices)

    def update_invoice(self, invoice_id: str, invoice: dict) -> int:
        from sandbox.xero import writes

        return writes.update_invoice(self, invoice_id, invoice)

    def save_credit_notes(self, credit_notes: list) -> list[int]:
        from sandbox.xero import writes

        return writes.save_credit_notes(self, credit_notes)

    def remember_response(self, key: str, fingerprint: str, status: int, body: str) -> None:
        """Keep a write's answer under its Idempotency-Key (for 24 hours of the world's clock)."""
        self.idempotency[key] = (fingerprint, status, body, ms(self.world.clock.now()))

    def contact_person(self) -> dict[str, int]:
        """ContactID -> the true person behind it."""
        return {self.contact_id(c): c.person_id for c in self.contact_list}

    def bad_data_records(self) -> dict[str, set[str]]:
        """What the bad_data fault corrupts when it is on (ids as served)."""
        out: dict[str, set[str]] = {"invoices_total_mismatch": set(), "invoices_negative_quantity": set(),
                                    "contacts_missing_email": set()}
        for inv in self.invoices:
            iid = self.invoice_id(inv)
            kind = bad_kind(iid)
            if kind == 0:
                out["invoices_total_mismatch"].add(iid)
            elif kind == 1:
                out["invoices_negative_quantity"].add(iid)
        for c in self.contact_list:
            cid = self.contact_id(c)
            if bad_kind(cid) == 0:
                out["contacts_missing_email"].add(cid)
        return out


def melbourne_date_ms(at_ms: int) -> tuple[int, str]:
    """Xero dates are calendar dates in the organisation's time zone, sent as midnight UTC."""
    ts = at_ms // 1000
    day = (ts + zone_offset(ts, ORG_TZ)) // 86400  # the local calendar day, as days since 1970-01-01
    return day * 86_400_000, f"{utc_text(day * 86400)[:10]}T00:00:00"
