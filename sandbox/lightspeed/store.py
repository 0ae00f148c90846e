"""The grocer's two shops on Lightspeed Retail X-Series: outlets, registers, products, customers,
inventory and sales.

Every record carries one `version` from a single counter for the whole retailer, bumped on every
create, update and delete, in the order the changes happened (the API pages by it). Records are
compact and rendered to JSON only on request: sales and their lines are columns of machine ints
(sandbox/columns.py) seen through `LsSale` views, with prices as indexes into a small table of
shared Decimals and payments worked out from the total; the other records are objects. Ids are
UUIDs derived from (seed, kind, number).
"""

from __future__ import annotations

import hashlib
import random
import re
from array import array
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sandbox import draws
from sandbox.catalog import CATALOG, CatalogItem
from sandbox.columns import NO_TIME, View, code_column, from_ts, int_column, time_column, to_ts
from sandbox.people import Address, Person, email_variant, name_variant, phone_variant, random_address

CENT = Decimal("0.01")
Q5 = Decimal("0.00001")  # Lightspeed keeps 5 decimals on prices and taxes
GST = Decimal("0.10")
SHOP_TZ = ZoneInfo("Australia/Melbourne")

# (name, code, registers, share of sales); the names differ from Finale's facility names on purpose
OUTLETS = (
    ("Red Hill", "RH", ("Register 1", "Register 2"), 55),
    ("Mornington", "MN", ("Main Counter", "Express"), 45),
)
KINDS = ("outlets", "registers", "products", "customers", "inventory", "sales")
_SIZE = re.compile(r"\s(\d+(?:\.\d+)?)(kg|g|L|pk)$")


@dataclass(slots=True)
class LsOutlet:
    id: int
    name: str
    code: str
    address: Address
    created: datetime
    updated: datetime
    version: int = 0


@dataclass(slots=True)
class LsRegister:
    id: int
    outlet_id: int
    name: str
    prefix: str
    created: datetime
    updated: datetime
    invoice_sequence: int = 0
    version: int = 0


@dataclass(slots=True)
class LsProduct:
    id: int
    item: CatalogItem
    name: str
    price_incl: Decimal  # GST-inclusive shelf price
    supply_price: Decimal
    created: datetime
    updated: datetime
    deleted: datetime | None = None
    version: int = 0

    @property
    def price_excl(self) -> Decimal:
        return (self.price_incl / (1 + GST)).quantize(Q5) if self.item.gst else self.price_incl


@dataclass(slots=True)
class LsCustomer:
    id: int
    person_id: int
    code: str
    first_name: str
    last_name: str
    email: str | None  # as typed at the counter: case and stray spaces kept; None when not given
    phone: str
    mobile: str
    address: Address
    outlet_id: int  # the shop that signed them up
    created: datetime
    updated: datetime
    note: str = ""
    deleted: datetime | None = None
    version: int = 0


@dataclass(slots=True)
class LsInventory:
    id: int
    product_id: int
    outlet_id: int
    level: int
    reorder_point: int
    reorder_amount: int
    created: datetime
    updated: datetime
    version: int = 0


@dataclass(slots=True)
class LsLine:
    """A sale line; its API id derives from (sale id, position). Prices share the product's Decimals."""

    product_id: int
    quantity: int  # negative on a return
    price: Decimal  # unit price, tax-exclusive, 5 decimals
    tax: Decimal  # unit tax, 5 decimals

    @property
    def unit_incl(self) -> Decimal:
        return self.price + self.tax


@dataclass(slots=True)
class LsPayment:
    """A payment; its API id derives from (sale id, position)."""

    kind: str  # Cash | Card
    amount: Decimal
    date: datetime


SALE_STATUSES = ("CLOSED", "VOIDED")
SALE_NOTES = ("", "Voided at the counter", "Refund: produce not fresh")
_CASH, _CARD, _SPLIT = range(3)  # how a sale was paid
_PAYMENT_KINDS = ("Cash", "Card")


class LsSale(View):
    """A sale (or return), read from (and written to) the store's sale columns; id = row + 1.

    Lines live in the store's line columns; payments are worked out from the sale's total and
    how it was paid (cash, card, or half cash and the rest by card) when asked for."""

    __slots__ = ()

    outlet_id = int_column("_s_outlet", writable=False)
    register_id = int_column("_s_register", writable=False)
    invoice_sequence = int_column("_s_seq", writable=False)
    status = code_column("_s_status", SALE_STATUSES)  # CLOSED | VOIDED
    note = code_column("_s_note", SALE_NOTES)
    sale_date = time_column("_s_date")
    created = time_column("_s_created")
    updated = time_column("_s_updated")
    version = int_column("_s_version")
    # times as epoch seconds: what the renderer formats
    sale_date_ts = int_column("_s_date", writable=False)
    created_ts = int_column("_s_created", writable=False)
    updated_ts = int_column("_s_updated", writable=False)

    @property
    def id(self) -> int:
        return self._i + 1

    @property
    def customer_id(self) -> int | None:
        return self._s._s_customer[self._i] or None

    @property
    def return_for(self) -> int | None:
        return self._s._s_return_for[self._i] or None

    @property
    def deleted(self) -> datetime | None:
        return self._s._s_deleted.get(self._i)

    @deleted.setter
    def deleted(self, value: datetime | None) -> None:
        if value is None:
            self._s._s_deleted.pop(self._i, None)
        else:
            self._s._s_deleted[self._i] = value

    @property
    def lines(self) -> list[LsLine]:
        s = self._s
        first = s._s_line[self._i]
        end = first + s._s_nlines[self._i]
        parts = s._parts_list
        return [LsLine(product_id, quantity, *parts[k])
                for product_id, quantity, k in zip(s._l_product[first:end], s._l_qty[first:end],
                                                   s._l_parts[first:end], strict=True)]

    @property
    def payments(self) -> list[LsPayment]:
        return self.payments_of(sale_totals(self)["total_incl"])

    def payments_of(self, total_incl: Decimal, with_dates: bool = True) -> list[LsPayment]:
        """`payments`, given the sale's inclusive total (dates None unless `with_dates`: see `paid_ts`)."""
        s = self._s
        return _payments(total_incl, s._s_pay[self._i], from_ts(self.paid_ts) if with_dates else None)

    @property
    def paid_ts(self) -> int:
        """When the sale was paid (every payment at once), in epoch seconds."""
        return self._s._s_created[self._i] + self._s._s_pay_delay[self._i]


def _payments(total: Decimal, how: int, at: datetime) -> list[LsPayment]:
    if how == _SPLIT:
        cash = Decimal(int(total / 2))
        return [LsPayment("Cash", cash, at), LsPayment("Card", total - cash, at)]
    return [LsPayment(_PAYMENT_KINDS[how], total, at)]


class SaleMap(Mapping):
    """`store.sales`: sale id -> LsSale, in id order."""

    def __init__(self, store: LightspeedStore):
        self._s = store

    def __len__(self) -> int:
        return len(self._s._s_created)

    def __getitem__(self, sale_id) -> LsSale:
        if not isinstance(sale_id, int) or not 1 <= sale_id <= len(self):
            raise KeyError(sale_id)
        return LsSale(self._s, sale_id - 1)

    def __contains__(self, sale_id) -> bool:
        return isinstance(sale_id, int) and 1 <= sale_id <= len(self)

    def __iter__(self):
        return iter(range(1, len(self) + 1))

    def __reversed__(self):
        return iter(range(len(self), 0, -1))

    def values(self):
        return _SaleValues(self._s)


class _SaleValues:
    def __init__(self, store: LightspeedStore):
        self._s = store

    def __len__(self) -> int:
        return len(self._s._s_created)

    def __iter__(self):
        s = self._s
        return (LsSale(s, i) for i in range(len(self)))

    def __reversed__(self):
        s = self._s
        return (LsSale(s, i) for i in range(len(self) - 1, -1, -1))


def sale_totals(sale: LsSale) -> dict[str, Decimal]:
    """Lightspeed's arithmetic: total_price is tax-exclusive, total_tax apart; inclusive = their sum."""
    return totals_of(sale.lines)


def totals_of(lines: list[LsLine]) -> dict[str, Decimal]:
    """`sale_totals` of a sale with these lines."""
    price = sum((line.price * line.quantity for line in lines), Decimal(0)).quantize(Q5)
    tax = sum((line.tax * line.quantity for line in lines), Decimal(0)).quantize(Q5)
    return {"total_price": price, "total_tax": tax, "total_incl": price + tax}


_FEW = frozenset(("outlets", "registers", "users", "taxes", "payment_types", "products", "product_types",
                  "variant_attributes", "customer_groups", "inventory"))


def _uuid4(text: str) -> str:
    """`str(uuid.UUID(bytes=md5(text), version=4))`, without building a UUID object."""
    d = bytearray(hashlib.md5(text.encode()).digest())
    d[6] = (d[6] & 0x0F) | 0x40  # version 4
    d[8] = (d[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = d.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_OFFSETS: dict[int, int] = {}
_WALL_OFFSETS: dict[tuple[int, int], int] = {}


def _offset_at(ts: int) -> int:
    """Melbourne's UTC offset (seconds) at epoch second `ts` (offsets change on the hour)."""
    hour = ts // 3600
    offset = _OFFSETS.get(hour)
    if offset is None:
        offset = _OFFSETS[hour] = int(datetime.fromtimestamp(hour * 3600, SHOP_TZ).utcoffset().total_seconds())
    return offset


def _wall_offset(day: int, hour: int) -> int:
    """Melbourne's UTC offset at local wall time `hour`:00 of local day `day` (days since 1970-01-01)."""
    key = (day, hour)
    offset = _WALL_OFFSETS.get(key)
    if offset is None:
        wall = datetime(1970, 1, 1, tzinfo=SHOP_TZ) + timedelta(days=day, hours=hour)  # wall-clock arithmetic
        offset = _WALL_OFFSETS[key] = int(wall.utcoffset().total_seconds())
    return offset


def shop_name(item: CatalogItem) -> str:
    """The name the shop staff gave the product: size moved to the end, per-kg items marked /kg."""
    m = _SIZE.search(item.name)
    if m:
        base, size, unit = item.name[: m.start()], m.group(1), m.group(2)
        if unit == "kg" and size == "1":
            return f"{base} /kg"
        return f"{base} ({size}{unit})"
    if item.unit == "bunch":
        return f"{item.name} (bunch)"
    return f"{item.name} ea"


def _round_5c(value: Decimal) -> Decimal:
    return (value * 20).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 20


class LightspeedStore:
    """State of the retailer's Lightspeed account; `advance` changes it the way two shops do."""

    def __init__(self, world, rng: random.Random, n_sales: int, history_days: int = 60):
        self.world = world
        self.rng = rng
        self._below = draws.below(rng)  # rng.randrange(n), cheaper (same draws)
        self.seed = world.seed
        self.history_days = history_days
        self.n_sales_seed = n_sales
        self._ids: dict[str, int] = {}
        self._uid_cache: dict[tuple[str, int], str] = {}
        self._version = 9_000_000 + rng.randrange(1_000_000)  # the retailer's global counter
        self.outlets: dict[int, LsOutlet] = {}
        self.registers: dict[int, LsRegister] = {}
        self.products: dict[int, LsProduct] = {}
        self.customers: dict[int, LsCustomer] = {}
        self.inventory: dict[int, LsInventory] = {}
        # sales: columns, one slot per sale (id = slot + 1); lines: one slot per line
        self._s_outlet = array("B")
        self._s_register = array("B")
        self._s_customer = array("I")  # 0: no customer
        self._s_seq = array("I")  # invoice_sequence
        self._s_status = array("B")  # index into SALE_STATUSES
        self._s_note = array("B")  # index into SALE_NOTES
        self._s_date = array("q")  # epoch seconds
        self._s_created = array("q")
        self._s_updated = array("q")
        self._s_return_for = array("I")  # 0: not a return
        self._s_version = array("q")
        self._s_pay = array("B")  # _CASH | _CARD | _SPLIT
        self._s_pay_delay = array("B")  # seconds from the sale to its payments
        self._s_line = array("I")  # first line slot
        self._s_nlines = array("B")
        self._s_deleted: dict[int, datetime] = {}  # row -> deleted_at (sales are voided, not deleted)
        self._l_product = array("B")
        self._l_qty = array("b")  # negative on a return
        self._l_parts = array("H")  # index into _parts_list: (unit price excl., unit tax)
        self.sales = SaleMap(self)
        self._inv_index: dict[tuple[int, int], LsInventory] = {}
        self._outlet_registers: dict[int, list[LsRegister]] = {}
        self._recent: deque[int] = deque(maxlen=300)  # rows of the newest sales: returns and voids pick from them
        self._live_customers: list[LsCustomer] | None = None
        self._live_products: list[LsProduct] | None = None
        self._parts: dict[tuple[int, Decimal], int] = {}  # (product id, shelf price) -> index into _parts_list
        self._parts_list: list[tuple[Decimal, Decimal]] = []
        self._pending: dict[tuple[str, int], object] = {}
        self._seeding = True  # while True, changes are not queued for versions (all records get one)
        self._seed_touches: dict[tuple[str, int], int] = {}  # while seeding: (kind, id) -> latest change
        # bad_data fault targets (rendered wrong only while the fault is on), as API ids
        self.bad_data: dict[str, set[str]] = {"customers_missing_email": set(), "sales_negative_quantity": set(),
                                              "sales_bad_totals": set()}
        now = world.clock.now()
        start = now - timedelta(days=history_days)
        opened = now - timedelta(days=730)
        self._seed_outlets(opened)
        self._seed_products(now - timedelta(days=400), start)
        self._seed_customers(start, now)
        self._seed_inventory(start)
        span = history_days * 86400
        t_start, t_now = to_ts(start), to_ts(now)
        below, shop_time = self._below, self._shop_time_ts
        times = sorted([shop_time(t_start + below(span)) for _ in range(n_sales)])
        for t in times:
            if t >= t_now:
                continue
            if self._s_created and rng.random() < 0.02:
                self._add_return(t)
            else:
                self._add_sale(t, self._pick_outlet(), void_before=t_now)
        for (kind, rid), when in self._seed_touches.items():
            record = getattr(self, kind)[rid]
            record.updated = max(record.updated, from_ts(when))
        self._seeding = False
        del self._seed_touches
        self._pick_bad_data()
        self._assign_versions(initial=True)

    # -- ids and versions --------------------------------------------------------
    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def uid(self, kind: str, n: int) -> str:
        """The UUID the API shows for record `n` of `kind` (stable for a seed)."""
        if kind in _FEW:  # a few dozen of these, asked for on every sale: remember them
            key = (kind, n)
            text = self._uid_cache.get(key)
            if text is None:
                text = self._uid_cache[key] = _uuid4(f"{self.seed}:lightspeed:{kind}:{n}")
            return text
        return _uuid4(f"{self.seed}:lightspeed:{kind}:{n}")

    @property
    def version(self) -> int:
        """The retailer's current global version (the API caches its indexes per version)."""
        return self._version

    def _touch(self, kind: str, record, when: datetime) -> None:
        if when > record.updated:
            record.updated = when
        self._pending[(kind, record.id)] = record

    def _touch_at(self, kind: str, record, when: int) -> None:
        """`_touch` at epoch seconds; while seeding, only the latest time per record is kept (applied after)."""
        if self._seeding:
            key = (kind, record.id)
            if when > self._seed_touches.get(key, NO_TIME):
                self._seed_touches[key] = when
        else:
            self._touch(kind, record, from_ts(when))

    def _touch_sale(self, row: int, when: int) -> None:
        if when > self._s_updated[row]:
            self._s_updated[row] = when
        if not self._seeding:
            self._pending[("sales", row + 1)] = LsSale(self, row)

    def _assign_versions(self, initial: bool = False) -> None:
        """Give every changed record a new global version, in the order the changes happened."""
        if initial:
            # (updated, kind, id) packed in one int per record: a million tuples would not fit
            keys = [(to_ts(r.updated) << 40) | (k << 32) | r.id
                    for k, kind in enumerate(KINDS) if kind != "sales" for r in getattr(self, kind).values()]
            sales = KINDS.index("sales")
            updated = self._s_updated
            keys.extend((updated[row] << 40) | (sales << 32) | (row + 1) for row in range(len(updated)))
            keys.sort()
            below = self._below
            for key in keys:
                self._version += 1 + below(9)  # rng.randint(1, 9): shared with every other resource: gaps
                kind, rid = (key >> 32) & 0xFF, key & 0xFFFFFFFF
                if kind == sales:
                    self._s_version[rid - 1] = self._version
                else:
                    getattr(self, KINDS[kind])[rid].version = self._version
            self._pending = {}
            return
        pending = [(kind, r) for (kind, _), r in self._pending.items()]
        pending.sort(key=lambda kr: (kr[1].updated, KINDS.index(kr[0]), kr[1].id))
        for _, record in pending:
            self._version += self.rng.randint(1, 9)  # shared with every other resource: gaps
            record.version = self._version
        self._pending = {}

    # -- seeding -----------------------------------------------------------------
    def _seed_outlets(self, opened: datetime) -> None:
        for name, code, registers, _ in OUTLETS:
            oid = self._next("outlets")
            city, postcode = ("Red Hill", "3937") if code == "RH" else ("Mornington", "3931")
            addr = Address(f"{self.rng.randrange(1, 200)} {'Point Nepean Rd' if code == 'MN' else 'Shoreham Rd'}",
                           city, postcode)
            self.outlets[oid] = LsOutlet(oid, name, code, addr, opened, opened)
            for i, reg_name in enumerate(registers):
                rid = self._next("registers")
                self.registers[rid] = LsRegister(rid, oid, reg_name, f"{code}{i + 1}-", opened, opened)

    def _seed_products(self, created: datetime, start: datetime) -> None:
        rng = self.rng
        for item in CATALOG:
            pid = self._next("products")
            base = item.price * (1 + GST) if item.gst else item.price
            price = _round_5c(base * Decimal(rng.choice(("1.00", "1.00", "1.05", "1.10", "1.15"))))
            supply = (item.price * Decimal("0.6")).quantize(CENT)
            updated = created if rng.random() < 0.6 else start + timedelta(seconds=rng.randrange(40 * 86400))
            self.products[pid] = LsProduct(pid, item, shop_name(item), price, supply, created, updated)

    def _new_customer(self, person: Person, outlet_id: int, created: datetime) -> LsCustomer:
        rng = self.rng
        cid = self._next("customers")
        email = None if rng.random() < 0.15 else email_variant(rng, person.email)
        phone_style = phone_variant(rng, person.mobile)
        customer = LsCustomer(
            id=cid, person_id=person.person_id, code=f"{self.outlets[outlet_id].code}-{cid:05d}",
            first_name=name_variant(rng, person.first_name), last_name=person.last_name, email=email,
            phone="" if rng.random() < 0.7 else phone_style, mobile=phone_style if rng.random() < 0.85 else "",
            address=person.address if rng.random() < 0.8 else random_address(rng), outlet_id=outlet_id,
            created=created, updated=created,
        )
        self.customers[cid] = customer
        self._live_customers = None
        return customer

    def _seed_customers(self, start: datetime, now: datetime) -> None:
        rng = self.rng
        outlet_ids = list(self.outlets)
        for person in self.world.people:
            if rng.random() >= 0.45:
                continue
            created = start - timedelta(days=rng.randrange(0, 300)) + timedelta(seconds=rng.randrange(86400))
            customer = self._new_customer(person, rng.choice(outlet_ids), created)
            if rng.random() < 0.3:
                customer.updated = max(created, start + timedelta(seconds=rng.randrange(50 * 86400)))
            if rng.random() < 0.06:  # signed up again at the other shop: a duplicate with other details
                other = [o for o in outlet_ids if o != customer.outlet_id][0]
                self._new_customer(person, other, created + timedelta(days=rng.randrange(1, 40)))

    def _seed_inventory(self, start: datetime) -> None:
        rng = self.rng
        for oid in self.outlets:
            for pid in self.products:
                iid = self._next("inventory")
                inv = LsInventory(iid, pid, oid, rng.randrange(60, 220), rng.randrange(5, 20), rng.randrange(20, 60),
                                  start, start)
                self.inventory[iid] = inv
                self._inv_index[(oid, pid)] = inv

    def _price_parts(self, product: LsProduct) -> int:
        """The index in `_parts_list` of (unit price tax-exclusive, unit tax) at the current shelf price."""
        key = (product.id, product.price_incl)
        k = self._parts.get(key)
        if k is None:
            price = product.price_excl
            k = self._parts[key] = len(self._parts_list)
            self._parts_list.append((price, product.price_incl - price))
        return k

    def invoice_number(self, sale: LsSale) -> str:
        return f"{self.registers[sale.register_id].prefix}{sale.invoice_sequence}"

    def _registers_of(self, outlet_id: int) -> list[LsRegister]:
        registers = self._outlet_registers.get(outlet_id)
        if registers is None:  # registers never move or close
            registers = self._outlet_registers[outlet_id] = [r for r in self.registers.values()
                                                             if r.outlet_id == outlet_id]
        return registers

    def _shop_time(self, t: datetime) -> datetime:
        """Move a moment into shop hours (08:00-18:00 in Melbourne), same local day."""
        local = t.astimezone(SHOP_TZ)
        if 8 <= local.hour < 18:
            return t
        hour = 8 + (local.hour % 10)
        return local.replace(hour=hour).astimezone(t.tzinfo)

    def _shop_time_ts(self, ts: int) -> int:
        """`_shop_time` on epoch seconds, with the Melbourne offsets looked up once per hour."""
        local = ts + _offset_at(ts)
        hour = local // 3600 % 24
        if 8 <= hour < 18:
            return ts
        new_hour = 8 + hour % 10
        return local + (new_hour - hour) * 3600 - _wall_offset(local // 86400, new_hour)

    def _pick_outlet(self) -> int:
        roll = self.rng.uniform(0, 100)
        for oid, (_, _, _, share) in zip(self.outlets, OUTLETS, strict=True):
            roll -= share
            if roll <= 0:
                return oid
        return next(iter(self.outlets))

    # -- sales ---------------------------------------------------------------------
    def _customers_live(self) -> list[LsCustomer]:
        if self._live_customers is None:
            self._live_customers = [c for c in self.customers.values() if c.deleted is None]
        return self._live_customers

    def _products_live(self) -> list[LsProduct]:
        if self._live_products is None:
            self._live_products = [p for p in self.products.values() if p.deleted is None]
        return self._live_products

    def _add_sale(self, when: int, outlet_id: int, void_before: int | None = None) -> int:
        """Ring up a sale at `when` (epoch seconds); returns its row.

        Draws as `rng.choice`, `rng.randint` and `rng.sample` would, spelled with `below`
        (sandbox/draws.py): this runs once per sale."""
        rng, below = self.rng, self._below
        registers = self._registers_of(outlet_id)
        register = registers[below(len(registers))]  # rng.choice
        products = self._products_live()
        first = len(self._l_qty)
        chosen = draws.sample(below, products, min(len(products), 1 + below(6)))  # randint(1, 6)
        for product in chosen:
            k = self._price_parts(product)
            quantity = 1 + below(3)  # randint(1, 3)
            self._l_product.append(product.id)
            self._l_qty.append(quantity)
            self._l_parts.append(k)
        customer = None
        if rng.random() < 0.35:
            pool = self._customers_live()
            if pool:
                customer = pool[below(len(pool))]  # rng.choice
        register.invoice_sequence += 1
        row = self._new_sale(outlet_id, register, customer.id if customer else 0, when, first, len(chosen), 0, 0, None)
        self._stock_out(row, when)
        if void_before is not None and rng.random() < 0.03:
            voided = min(when + 60 * (1 + below(89)), void_before - 1)  # randrange(1, 90) minutes
            self._void(row, max(voided, when))
        return row

    def _new_sale(self, outlet_id: int, register: LsRegister, customer_id: int, when: int, first_line: int,
                  n_lines: int, return_for: int, note: int, pay_kind: str | None) -> int:
        """Store a sale whose lines are already in the line columns; returns its row."""
        row = self._next("sales") - 1
        assert row == len(self._s_created)
        self._s_outlet.append(outlet_id)
        self._s_register.append(register.id)
        self._s_customer.append(customer_id)
        self._s_seq.append(register.invoice_sequence)
        self._s_status.append(0)  # CLOSED
        self._s_note.append(note)
        self._s_date.append(when)
        self._s_created.append(when)
        self._s_updated.append(when)
        self._s_return_for.append(return_for)
        self._s_version.append(0)
        self._s_line.append(first_line)
        self._s_nlines.append(n_lines)
        # payments: `_payments(total, when, kind)` as it was, kept as how and when
        delay = 5 + self._below(85)  # rng.randrange(5, 90)
        roll = self.rng.random()
        if pay_kind is None and roll < 0.1 and sale_totals(LsSale(self, row))["total_incl"] > 10:
            how = _SPLIT
        else:
            how = _PAYMENT_KINDS.index(pay_kind or ("Cash" if roll < 0.4 else "Card"))
        self._s_pay.append(how)
        self._s_pay_delay.append(delay)
        self._recent.append(row)
        self._touch_sale(row, when)
        self._touch_at("registers", register, when)  # its invoice_sequence moved on
        return row

    def _void(self, row: int, when: int) -> None:
        self._s_status[row] = 1  # VOIDED
        self._s_note[row] = 1  # "Voided at the counter"
        self._touch_sale(row, when)
        self._stock_in(row, when)

    def _add_return(self, when: int) -> int | None:
        rng = self.rng
        status, return_for, sale_date = self._s_status, self._s_return_for, self._s_date
        candidates = [r for r in self._recent if status[r] == 0 and not return_for[r] and sale_date[r] < when]
        if not candidates:
            return None
        original = LsSale(self, rng.choice(candidates))
        back = rng.choice(original.lines)
        register = rng.choice(self._registers_of(original.outlet_id))
        register.invoice_sequence += 1
        first = len(self._l_qty)
        k = self._l_parts[self._s_line[original._i] + original.lines.index(back)]
        self._l_product.append(back.product_id)
        self._l_qty.append(-back.quantity)
        self._l_parts.append(k)
        row = self._new_sale(original.outlet_id, register, self._s_customer[original._i], when, first, 1,
                             original.id, 2, original.payments[0].kind)  # note: "Refund: produce not fresh"
        self._stock_out(row, when)  # a negative quantity puts stock back
        return row

    def _stock_out(self, row: int, when: int, sign: int = 1) -> None:
        outlet = self._s_outlet[row]
        first = self._s_line[row]
        for n in range(self._s_nlines[row]):
            inv = self._inv_index.get((outlet, self._l_product[first + n]))
            if inv is not None:
                inv.level -= sign * self._l_qty[first + n]
                self._touch_at("inventory", inv, when)

    def _stock_in(self, row: int, when: int) -> None:
        self._stock_out(row, when, sign=-1)

    def _pick_bad_data(self) -> None:
        rng = self.rng
        with_email = [c for c in self.customers.values() if c.email]
        for c in rng.sample(with_email, min(3, len(with_email))):
            self.bad_data["customers_missing_email"].add(self.uid("customers", c.id))
        status, return_for = self._s_status, self._s_return_for
        plain = [r for r in range(len(status)) if not return_for[r] and status[r] == 0]
        picked = rng.sample(plain, min(6, len(plain)))
        for r in picked[:3]:
            self.bad_data["sales_negative_quantity"].add(self.uid("sales", r + 1))
        for r in picked[3:]:
            self.bad_data["sales_bad_totals"].add(self.uid("sales", r + 1))

    # -- time moves ------------------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[str]]:
        """Apply `hours` of shop activity between t0 and t1; return the API ids that changed."""
        rng = self.rng
        span = max(1, int((t1 - t0).total_seconds()))
        self._pending = {}

        def when() -> datetime:
            return t0 + timedelta(seconds=rng.randint(1, span))

        def count(expected: float) -> int:  # events scale with the hours; short steps get them by chance
            whole = int(expected)
            return whole + (1 if rng.random() < expected - whole else 0)

        def chance() -> bool:  # about once every six hours
            return rng.random() < hours / 6

        deleted: dict[str, set[str]] = {"customers_deleted": set(), "products_deleted": set()}
        per_hour = max(1.0, self.n_sales_seed / (self.history_days * 24))
        for oid in self.outlets:  # new sales in both shops
            for _ in range(count(per_hour * hours / 2) if hours < 2 else max(1, count(per_hour * hours / 2))):
                self._add_sale(to_ts(when()), oid)
        if rng.random() < 0.7 * min(1.0, hours / 6):
            self._add_return(to_ts(when()))
        status, return_for, sale_date = self._s_status, self._s_return_for, self._s_date
        since = to_ts(t0) - 86400
        recent = [r for r in self._recent if status[r] == 0 and not return_for[r] and sale_date[r] >= since]
        if recent and chance():  # a mistake found and voided
            row = rng.choice(recent)
            self._void(row, min(to_ts(t1), max(to_ts(when()), sale_date[row] + 1)))
        # web customers walk into a shop and sign up there too
        have = {c.person_id for c in self.customers.values()}
        web = [p for p in self.world.people if p.person_id not in have]
        for person in rng.sample(web, min(len(web), count(hours / 6))):
            customer = self._new_customer(person, rng.choice(list(self.outlets)), when())
            self._touch("customers", customer, customer.created)
        live = self._customers_live()
        for customer in rng.sample(live, min(len(live), count(hours / 3))):
            roll = rng.random()
            person = self.world.people[customer.person_id - 1]
            if roll < 0.4:
                customer.mobile = phone_variant(rng, person.mobile)
            elif roll < 0.7:
                customer.email = email_variant(rng, person.email)
            else:
                customer.address = random_address(rng)
            self._touch("customers", customer, when())
        live = self._customers_live()
        if live and chance():
            gone = rng.choice(live)
            gone.deleted = when()
            self._live_customers = None
            self._touch("customers", gone, gone.deleted)
            deleted["customers_deleted"].add(self.uid("customers", gone.id))
        products = [p for p in self.products.values() if p.deleted is None]
        product = rng.choice(products)
        if chance():  # a price rise
            product.price_incl = _round_5c(product.price_incl * Decimal("1.05"))
            self._touch("products", product, when())
        if chance() and (not any(p.deleted for p in self.products.values()) or rng.random() < 0.1):
            gone = rng.choice([p for p in products if p is not product])
            gone.deleted = when()
            self._live_products = None
            self._touch("products", gone, gone.deleted)
            deleted["products_deleted"].add(self.uid("products", gone.id))
        for inv in rng.sample(list(self.inventory.values()), min(count(4 * hours / 6), len(self.inventory))):  # delivery
            inv.level += inv.reorder_amount
            self._touch("inventory", inv, when())
        changed: dict[str, set[str]] = {kind: set() for kind in KINDS}
        for kind, rid in self._pending:
            changed[kind].add(self.uid(kind, rid))
        self._assign_versions()
        changed.update(deleted)
        return changed

    # -- ground truth (never served) -----------------------------------------------------
    def outlet_ids(self) -> dict[str, str]:
        """Outlet name -> the outlet id the API shows."""
        return {o.name: self.uid("outlets", o.id) for o in self.outlets.values()}

    def customer_person(self) -> dict[str, int]:
        """Customer id (as served) -> the true person (deleted customers included)."""
        return {self.uid("customers", c.id): c.person_id for c in self.customers.values()}

    def revenue_by_day_outlet(self, tax_inclusive: bool = True) -> dict[tuple[date, str], Decimal]:
        """True takings per shop day: CLOSED sales (returns count negative), VOIDED ones left out.

        Days are the shops' local (Australia/Melbourne) calendar days of `sale_date`; keys are
        (date, outlet name). Amounts are GST-inclusive unless `tax_inclusive=False`."""
        out: dict[tuple[date, str], Decimal] = {}
        for sale in self.sales.values():
            if sale.status != "CLOSED" or sale.deleted is not None:
                continue
            totals = sale_totals(sale)
            amount = totals["total_incl"] if tax_inclusive else totals["total_price"]
            key = (sale.sale_date.astimezone(SHOP_TZ).date(), self.outlets[sale.outlet_id].name)
            out[key] = out.get(key, Decimal(0)) + amount
        return {k: v.quantize(CENT) if tax_inclusive else v for k, v in sorted(out.items())}

    def inventory_levels(self) -> dict[tuple[str, str], int]:
        """(SKU, outlet name) -> inventory level as Lightspeed believes it."""
        return {(self.products[i.product_id].item.sku, self.outlets[i.outlet_id].name): i.level
                for i in self.inventory.values()}
