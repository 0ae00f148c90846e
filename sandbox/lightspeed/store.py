"""The grocer's two shops on Lightspeed Retail X-Series: outlets, registers, products, customers,
inventory and sales.

Every record carries one `version` from a single counter for the whole retailer, bumped on every
create, update and delete, in the order the changes happened (the API pages by it). Records are
compact and rendered to JSON only on request. Ids are UUIDs derived from (seed, kind, number).
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sandbox.catalog import CATALOG, CatalogItem
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


@dataclass(slots=True)
class LsSale:
    id: int
    outlet_id: int
    register_id: int
    customer_id: int | None
    invoice_sequence: int
    status: str  # CLOSED | VOIDED
    sale_date: datetime
    created: datetime
    updated: datetime
    lines: list[LsLine]
    payments: list[LsPayment]
    return_for: int | None = None
    note: str = ""
    deleted: datetime | None = None
    version: int = 0


def sale_totals(sale: LsSale) -> dict[str, Decimal]:
    """Lightspeed's arithmetic: total_price is tax-exclusive, total_tax apart; inclusive = their sum."""
    price = sum((line.price * line.quantity for line in sale.lines), Decimal(0)).quantize(Q5)
    tax = sum((line.tax * line.quantity for line in sale.lines), Decimal(0)).quantize(Q5)
    return {"total_price": price, "total_tax": tax, "total_incl": price + tax}


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
        self.seed = world.seed
        self.history_days = history_days
        self.n_sales_seed = n_sales
        self._ids: dict[str, int] = {}
        self._version = 9_000_000 + rng.randrange(1_000_000)  # the retailer's global counter
        self.outlets: dict[int, LsOutlet] = {}
        self.registers: dict[int, LsRegister] = {}
        self.products: dict[int, LsProduct] = {}
        self.customers: dict[int, LsCustomer] = {}
        self.inventory: dict[int, LsInventory] = {}
        self.sales: dict[int, LsSale] = {}
        self._inv_index: dict[tuple[int, int], LsInventory] = {}
        self._recent: deque[LsSale] = deque(maxlen=300)  # the newest sales: returns and voids pick from them
        self._live_customers: list[LsCustomer] | None = None
        self._live_products: list[LsProduct] | None = None
        self._parts: dict[tuple[int, Decimal], tuple[Decimal, Decimal]] = {}
        self._pending: dict[tuple[str, int], object] = {}
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
        times = sorted(self._shop_time(start + timedelta(seconds=rng.randrange(span))) for _ in range(n_sales))
        for t in times:
            if t >= now:
                continue
            if self.sales and rng.random() < 0.02:
                self._add_return(t)
            else:
                self._add_sale(t, self._pick_outlet(), void_before=now)
        self._pick_bad_data()
        self._assign_versions(initial=True)

    # -- ids and versions --------------------------------------------------------
    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def uid(self, kind: str, n: int) -> str:
        """The UUID the API shows for record `n` of `kind` (stable for a seed)."""
        digest = hashlib.md5(f"{self.seed}:lightspeed:{kind}:{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest, version=4))

    @property
    def version(self) -> int:
        """The retailer's current global version (the API caches its indexes per version)."""
        return self._version

    def _touch(self, kind: str, record, when: datetime) -> None:
        if when > record.updated:
            record.updated = when
        self._pending[(kind, record.id)] = record

    def _assign_versions(self, initial: bool = False) -> None:
        """Give every changed record a new global version, in the order the changes happened."""
        if initial:
            pending = [(kind, r) for kind in KINDS for r in getattr(self, kind).values()]
        else:
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

    def _price_parts(self, product: LsProduct) -> tuple[Decimal, Decimal]:
        """(unit price tax-exclusive, unit tax) at the current shelf price, shared between lines."""
        key = (product.id, product.price_incl)
        parts = self._parts.get(key)
        if parts is None:
            price = product.price_excl
            parts = self._parts[key] = (price, product.price_incl - price)
        return parts

    def invoice_number(self, sale: LsSale) -> str:
        return f"{self.registers[sale.register_id].prefix}{sale.invoice_sequence}"

    def _registers_of(self, outlet_id: int) -> list[LsRegister]:
        return [r for r in self.registers.values() if r.outlet_id == outlet_id]

    def _shop_time(self, t: datetime) -> datetime:
        """Move a moment into shop hours (08:00-18:00 in Melbourne), same local day."""
        local = t.astimezone(SHOP_TZ)
        if 8 <= local.hour < 18:
            return t
        hour = 8 + (local.hour % 10)
        return local.replace(hour=hour).astimezone(t.tzinfo)

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

    def _add_sale(self, when: datetime, outlet_id: int, void_before: datetime | None = None) -> LsSale:
        rng = self.rng
        register = rng.choice(self._registers_of(outlet_id))
        products = self._products_live()
        lines = []
        for product in rng.sample(products, min(len(products), rng.randint(1, 6))):
            price, tax = self._price_parts(product)
            lines.append(LsLine(product.id, rng.randint(1, 3), price, tax))
        customer = None
        if rng.random() < 0.35:
            pool = self._customers_live()
            if pool:
                customer = rng.choice(pool)
        register.invoice_sequence += 1
        sale = LsSale(
            id=self._next("sales"), outlet_id=outlet_id, register_id=register.id,
            customer_id=customer.id if customer else None, invoice_sequence=register.invoice_sequence,
            status="CLOSED", sale_date=when, created=when, updated=when, lines=lines, payments=[],
        )
        sale.payments = self._payments(sale_totals(sale)["total_incl"], when)
        self.sales[sale.id] = sale
        self._recent.append(sale)
        self._touch("sales", sale, when)
        self._touch("registers", register, when)  # its invoice_sequence moved on
        self._stock_out(sale, when)
        if void_before is not None and rng.random() < 0.03:
            voided = min(when + timedelta(minutes=rng.randrange(1, 90)), void_before - timedelta(seconds=1))
            self._void(sale, max(voided, when))
        return sale

    def _payments(self, total: Decimal, when: datetime, kind: str | None = None) -> list[LsPayment]:
        rng = self.rng
        at = when + timedelta(seconds=rng.randrange(5, 90))
        roll = rng.random()
        if kind is None and roll < 0.1 and total > 10:
            cash = Decimal(int(total / 2))
            return [LsPayment("Cash", cash, at), LsPayment("Card", total - cash, at)]
        kind = kind or ("Cash" if roll < 0.4 else "Card")
        return [LsPayment(kind, total, at)]

    def _void(self, sale: LsSale, when: datetime) -> None:
        sale.status = "VOIDED"
        sale.note = "Voided at the counter"
        self._touch("sales", sale, when)
        self._stock_in(sale, when)

    def _add_return(self, when: datetime) -> LsSale | None:
        rng = self.rng
        candidates = [s for s in self._recent if s.status == "CLOSED" and s.return_for is None and s.sale_date < when]
        if not candidates:
            return None
        original = rng.choice(candidates)
        back = rng.choice(original.lines)
        register = rng.choice(self._registers_of(original.outlet_id))
        register.invoice_sequence += 1
        line = LsLine(back.product_id, -back.quantity, back.price, back.tax)
        sale = LsSale(
            id=self._next("sales"), outlet_id=original.outlet_id, register_id=register.id,
            customer_id=original.customer_id, invoice_sequence=register.invoice_sequence,
            status="CLOSED", sale_date=when, created=when, updated=when, lines=[line], payments=[],
            return_for=original.id, note="Refund: produce not fresh",
        )
        sale.payments = self._payments(sale_totals(sale)["total_incl"], when, kind=original.payments[0].kind)
        self.sales[sale.id] = sale
        self._recent.append(sale)
        self._touch("sales", sale, when)
        self._touch("registers", register, when)  # its invoice_sequence moved on
        self._stock_out(sale, when)  # a negative quantity puts stock back
        return sale

    def _stock_out(self, sale: LsSale, when: datetime) -> None:
        for line in sale.lines:
            inv = self._inv_index.get((sale.outlet_id, line.product_id))
            if inv is not None:
                inv.level -= line.quantity
                self._touch("inventory", inv, when)

    def _stock_in(self, sale: LsSale, when: datetime) -> None:
        for line in sale.lines:
            inv = self._inv_index.get((sale.outlet_id, line.product_id))
            if inv is not None:
                inv.level += line.quantity
                self._touch("inventory", inv, when)

    def _pick_bad_data(self) -> None:
        rng = self.rng
        with_email = [c for c in self.customers.values() if c.email]
        for c in rng.sample(with_email, min(3, len(with_email))):
            self.bad_data["customers_missing_email"].add(self.uid("customers", c.id))
        plain = [s for s in self.sales.values() if s.return_for is None and s.status == "CLOSED"]
        picked = rng.sample(plain, min(6, len(plain)))
        for s in picked[:3]:
            self.bad_data["sales_negative_quantity"].add(self.uid("sales", s.id))
        for s in picked[3:]:
            self.bad_data["sales_bad_totals"].add(self.uid("sales", s.id))

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
                self._add_sale(when(), oid)
        if rng.random() < 0.7 * min(1.0, hours / 6):
            self._add_return(when())
        recent = [s for s in self._recent if s.status == "CLOSED" and s.return_for is None
                  and s.sale_date >= t0 - timedelta(days=1)]
        if recent and chance():  # a mistake found and voided
            sale = rng.choice(recent)
            self._void(sale, min(t1, max(when(), sale.sale_date + timedelta(seconds=1))))
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
