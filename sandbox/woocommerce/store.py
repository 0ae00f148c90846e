"""The grocer's WooCommerce store inside the world: customers, products and web orders.

Records are kept compact and rendered to WooCommerce JSON only when asked for, so a
large world stays small in memory: orders and their lines are columns of machine ints
(sandbox/columns.py), seen through `WooOrder` views; customers and products are objects.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox import draws
from sandbox.catalog import CATALOG, CatalogItem
from sandbox.columns import NO_TIME, View, cents, code_column, from_cents, from_ts, int_column, time_column, to_ts
from sandbox.people import (
    Address,
    Person,
    apply_email_variant,
    apply_name_variant,
    apply_phone_variant,
    email_variant,
    email_variant_code,
    name_variant,
    name_variant_code,
    phone_variant,
    random_address,
)

CENT = Decimal("0.01")
GST = Decimal("0.10")
SHIPPING_FEE = Decimal("9.09")  # GST-exclusive delivery fee
FREE_SHIPPING_FROM = Decimal("80.00")
COUPON_RATE = Decimal("0.10")

# (status, weight) of orders older than a few days
SETTLED_STATUSES = (("completed", 82), ("cancelled", 5), ("refunded", 4), ("failed", 2), ("processing", 7))
OPEN_STATUSES = (("processing", 60), ("on-hold", 20), ("pending", 20))


@dataclass(slots=True)
class WooCustomer:
    id: int
    person_id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    billing: Address
    shipping: Address
    created: datetime
    modified: datetime


@dataclass(slots=True)
class WooProduct:
    id: int
    item: CatalogItem
    price: Decimal
    stock: int
    created: datetime
    modified: datetime
    total_sales: int = 0
    manage_stock: bool = True


@dataclass(slots=True)
class WooLine:
    """A line keeps the product's name, SKU and tax status as sold, like WooCommerce does."""

    id: int
    product_id: int
    sku: str
    name: str
    quantity: int
    price: Decimal  # unit price, GST-exclusive
    gst: bool

    def subtotal(self) -> Decimal:
        return (self.price * self.quantity).quantize(CENT)


ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
_CODE = {s: i for i, s in enumerate(ORDER_STATUSES)}
_OPEN = frozenset(_CODE[s] for s in ("processing", "on-hold", "pending"))
_PAID_ON_CREATE = frozenset(("processing", "completed", "refunded"))
_NO_REFUNDS: tuple = ()


class WooOrder(View):
    """One web order, read from (and written to) the store's columns.

    The buyer's email, first name and phone are kept as how-they-typed-it codes over the true
    person; billing and shipping are the person's address; lines live in the store's line columns
    (line ids are consecutive per order) and come back as `WooLine`s."""

    __slots__ = ()

    id = int_column("_o_id", writable=False)
    person_id = int_column("_o_person", writable=False)
    customer_id = int_column("_o_customer")  # 0 for a guest checkout
    status = code_column("_o_status", ORDER_STATUSES)
    created = time_column("_o_created")
    modified = time_column("_o_modified")
    paid = time_column("_o_paid")
    completed = time_column("_o_completed")
    # the same times as epoch seconds (NO_TIME for None): what the renderer formats
    created_ts = int_column("_o_created", writable=False)
    modified_ts = int_column("_o_modified", writable=False)
    paid_ts = int_column("_o_paid", writable=False)
    completed_ts = int_column("_o_completed", writable=False)

    @property
    def person(self) -> Person:
        return self._s.world.people[self._s._o_person[self._i] - 1]

    @property
    def email(self) -> str:
        return apply_email_variant(self._s._o_email[self._i], self.person.email)

    @property
    def first_name(self) -> str:
        return apply_name_variant(self._s._o_name[self._i], self.person.first_name)

    @property
    def last_name(self) -> str:
        return self.person.last_name

    @property
    def phone(self) -> str:
        return apply_phone_variant(self._s._o_phone[self._i], self.person.mobile)

    @property
    def billing(self) -> Address:
        return self.person.address

    shipping = billing

    @property
    def coupon(self) -> str | None:
        return "FRESH10" if self._s._o_coupon[self._i] else None

    @property
    def trashed(self) -> bool:
        return bool(self._s._o_trashed[self._i])

    @trashed.setter
    def trashed(self, value: bool) -> None:
        self._s._o_trashed[self._i] = bool(value)

    @property
    def refunds(self) -> list[tuple[int, Decimal, str]] | tuple:
        """(id, amount, reason) of each refund."""
        return self._s._refunds.get(self._i, _NO_REFUNDS)

    @property
    def lines(self) -> list[WooLine]:
        s = self._s
        first = s._o_line[self._i]
        products, qty, price = s._product_list, s._l_qty, s._l_price
        out = []
        for n, pos in enumerate(s._l_product[first:first + s._o_nlines[self._i]]):
            product = products[pos]
            item = product.item
            k = first + n
            out.append(WooLine(k + 1, product.id, item.sku, item.name, qty[k], from_cents(price[k]), item.gst))
        return out


class OrderMap(Mapping):
    """`store.orders`: order id -> WooOrder for the orders that exist (trashed included), in id order."""

    def __init__(self, store: WooStore):
        self._s = store

    def __len__(self) -> int:
        return len(self._s._o_id) - self._s._n_deleted

    def _rows(self):
        gone = self._s._o_deleted
        return (i for i in range(len(gone)) if not gone[i])

    def __iter__(self):
        ids = self._s._o_id
        return (ids[i] for i in self._rows())

    def __reversed__(self):
        s = self._s
        ids, gone = s._o_id, s._o_deleted
        return (ids[i] for i in range(len(ids) - 1, -1, -1) if not gone[i])

    def __getitem__(self, oid) -> WooOrder:
        i = self._s.index_of(oid)
        if i is None or self._s._o_deleted[i]:
            raise KeyError(oid)
        return WooOrder(self._s, i)

    def __contains__(self, oid) -> bool:
        i = self._s.index_of(oid)
        return i is not None and not self._s._o_deleted[i]

    def __delitem__(self, oid) -> None:
        i = self._s.index_of(oid)
        if i is None or self._s._o_deleted[i]:
            raise KeyError(oid)
        self._s._o_deleted[i] = 1
        self._s._n_deleted += 1

    def values(self):
        return _Values(self)

    def items(self):
        return _Items(self)


class _Values:
    def __init__(self, m: OrderMap):
        self._m = m

    def __len__(self) -> int:
        return len(self._m)

    def __iter__(self):
        s = self._m._s
        return (WooOrder(s, i) for i in self._m._rows())


class _Items(_Values):
    def __iter__(self):
        s = self._m._s
        ids = s._o_id
        return ((ids[i], WooOrder(s, i)) for i in self._m._rows())


class WooStore:
    """State of the WooCommerce store; `advance` changes it the way a real shop changes."""

    def __init__(self, world, rng: random.Random, n_orders: int, history_days: int = 60):
        self.world = world
        self.rng = rng
        self._below = draws.below(rng)  # rng.randrange(n), cheaper (same draws)
        self._next_id = 1000
        self.customers: dict[int, WooCustomer] = {}
        self.products: dict[int, WooProduct] = {}
        self._product_list: list[WooProduct] = []  # in id order; lines point at positions
        self._product_pos: dict[int, int] = {}
        self._customer_of_person: dict[int, int] = {}
        # orders: one slot per order ever placed (force-deleted ones too: other vendors synced them)
        self._o_id = array("I")
        self._o_person = array("I")
        self._o_customer = array("I")
        self._o_email = array("B")  # how the buyer typed their email (people.apply_email_variant)
        self._o_name = array("B")  # ... their first name
        self._o_phone = array("B")  # ... their phone
        self._o_coupon = array("B")
        self._o_status = array("B")  # index into ORDER_STATUSES
        self._o_trashed = array("B")
        self._o_deleted = array("B")
        self._o_created = array("q")  # epoch seconds
        self._o_modified = array("q")
        self._o_paid = array("q")  # NO_TIME when unpaid
        self._o_completed = array("q")
        self._o_line = array("I")  # first line (line id - 1)
        self._o_nlines = array("B")
        self._refunds: dict[int, list[tuple[int, Decimal, str]]] = {}  # row -> refunds
        self._n_deleted = 0
        # lines: one slot per line, line id = slot + 1
        self._l_product = array("B")  # position in _product_list
        self._l_qty = array("B")
        self._l_price = array("I")  # unit price in cents, GST-exclusive, as sold
        self.orders = OrderMap(self)
        self.deleted_orders: set[int] = set()
        self.version = 0  # bumps on every change; the API caches its indexes per version
        # writes through the API (sandbox/woocommerce/writes.py)
        self.notes: dict[int, list[dict]] = {}  # order id -> its notes, oldest first
        self._note_ids = 0
        self.api_modified_rows: set[int] = set()  # rows changed through the API, for the Xero integration
        now = world.clock.now()
        start = now - timedelta(days=history_days)
        self._seed_products(start)
        for person in world.people:
            if rng.random() < 0.7:
                created = start + timedelta(seconds=rng.randrange(history_days * 86400 // 2))
                self._add_customer(person, created)
        span = history_days * 86400
        t_start, t_now = to_ts(start), to_ts(now)
        below = self._below
        for created in sorted([t_start + below(span) for _ in range(n_orders)]):
            self._add_order(created, settle_before=t_now)

    # -- ids ---------------------------------------------------------------
    def _new_id(self) -> int:
        # WordPress post ids are shared across post types: increasing, with gaps.
        self._next_id += 1 + self._below(3)  # rng.randrange(1, 4)
        return self._next_id

    def index_of(self, order_id: int) -> int | None:
        """The row of an order id (deleted orders included), or None."""
        ids = self._o_id
        i = bisect_left(ids, order_id)
        return i if i < len(ids) and ids[i] == order_id else None

    def order_at(self, row: int) -> WooOrder:
        return WooOrder(self, row)

    def live_rows(self) -> list[int]:
        """Rows of the orders that exist (trashed included), in id order."""
        gone = self._o_deleted
        return [i for i in range(len(gone)) if not gone[i]]

    @property
    def row_count(self) -> int:
        """Orders ever placed (force-deleted ones included)."""
        return len(self._o_id)

    # -- creation ----------------------------------------------------------
    def _seed_products(self, start: datetime) -> None:
        for item in CATALOG:
            pid = self._new_id()
            product = WooProduct(pid, item, item.price, self.rng.randrange(20, 400), start, start)
            self.products[pid] = product
            self._product_pos[pid] = len(self._product_list)
            self._product_list.append(product)

    def _add_customer(self, person: Person, created: datetime) -> WooCustomer:
        rng = self.rng
        cid = len(self.customers) + 1
        customer = WooCustomer(
            id=cid,
            person_id=person.person_id,
            email=email_variant(rng, person.email).strip().lower(),  # WordPress normalises account emails
            first_name=name_variant(rng, person.first_name),
            last_name=person.last_name,
            phone=phone_variant(rng, person.mobile),
            billing=person.address,
            shipping=person.address if rng.random() < 0.85 else random_address(rng),
            created=created,
            modified=created,
        )
        self.customers[cid] = customer
        self._customer_of_person.setdefault(person.person_id, cid)
        return customer

    def _add_order(self, created: int, settle_before: int) -> int:
        """Place one order at `created` (epoch seconds); returns its row.

        Draws as `rng.choice`, `rng.randint(a, b)` and `rng.randrange(a, b)` would, spelled with
        `below` (sandbox/draws.py): this runs once per order."""
        rng, below = self.rng, self._below
        people = self.world.people
        person = people[below(len(people))]  # rng.choice(people)
        customer_id = self._customer_of_person.get(person.person_id)
        guest = customer_id is None or rng.random() < 0.1
        first_line = len(self._l_qty)
        count = 0
        l_product, l_qty, l_price, positions = self._l_product, self._l_qty, self._l_price, self._product_pos
        for product in draws.sample(below, self._product_list, 1 + below(5)):  # randint(1, 5)
            quantity = 1 + below(4)  # randint(1, 4)
            l_product.append(positions[product.id])
            l_qty.append(quantity)
            l_price.append(cents(product.price))
            product.total_sales += quantity
            count += 1
        if settle_before - created > 3 * 86400:
            status = _weighted(rng, SETTLED_STATUSES)
        else:
            status = _weighted(rng, OPEN_STATUSES)
        modified = min(created + 1 + below(72 * 3600 - 1), settle_before)  # randrange(1, 72 h)
        if status in ("processing", "on-hold", "pending"):
            modified = created
        row = len(self._o_id)
        self._o_id.append(self._new_id())
        self._o_person.append(person.person_id)
        self._o_customer.append(0 if guest else customer_id)
        self._o_email.append(email_variant_code(rng))
        self._o_name.append(name_variant_code(rng, person.first_name))
        self._o_phone.append(below(4))  # phone_variant_code(rng)
        self._o_coupon.append(rng.random() < 0.1)
        self._o_status.append(_CODE[status])
        self._o_trashed.append(0)
        self._o_deleted.append(0)
        self._o_created.append(created)
        self._o_modified.append(modified)
        self._o_paid.append(created + 5 + below(115) if status in _PAID_ON_CREATE else NO_TIME)  # randrange(5, 120)
        self._o_completed.append(modified if status in ("completed", "refunded") else NO_TIME)
        self._o_line.append(first_line)
        self._o_nlines.append(count)
        if status == "refunded":
            order = WooOrder(self, row)
            self._refunds[row] = [(self._new_id(), order_totals(order)["total"], "Produce arrived damaged")]
        return row

    # -- time moves ----------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[int]]:
        """Apply `hours` of shop activity between t0 and t1; return the ids that changed."""
        rng = self.rng
        span = max(1, int((t1 - t0).total_seconds()))
        base = to_ts(t0)

        def when() -> int:
            return base + rng.randint(1, span)

        changed: dict[str, set[int]] = {"orders": set(), "customers": set(), "products": set(),
                                        "orders_deleted": set()}
        rate = max(1.0, len(self.orders) / (60 * 24))
        n_new = max(2, round(rate * hours))
        for _ in range(max(1, n_new // 4)):  # new people sign up
            person = self.world.add_person()
            c = self._add_customer(person, from_ts(when()))
            changed["customers"].add(c.id)
        old_rows = len(self._o_id)
        for _ in range(n_new):
            created = when()
            row = self._add_order(created, settle_before=created)
            changed["orders"].add(self._o_id[row])
        ids, status, trashed, deleted = self._o_id, self._o_status, self._o_trashed, self._o_deleted
        live = [i for i in range(old_rows) if not deleted[i] and not trashed[i]]
        open_rows = [i for i in live if status[i] in _OPEN]
        for i in rng.sample(open_rows, min(len(open_rows), max(1, n_new // 2))):
            status[i] = _CODE["completed"]
            self._o_modified[i] = when()
            if self._o_paid[i] == NO_TIME:
                self._o_paid[i] = self._o_modified[i]
            self._o_completed[i] = self._o_modified[i]
            changed["orders"].add(ids[i])
        done = _CODE["completed"]
        completed = [i for i in live if status[i] == done and ids[i] not in changed["orders"]]
        if completed:
            i = rng.choice(completed)
            status[i] = _CODE["refunded"]
            self._o_modified[i] = when()
            self._refunds.setdefault(i, []).append(
                (self._new_id(), order_totals(WooOrder(self, i))["total"], "Customer request"))
            changed["orders"].add(ids[i])
        customers = list(self.customers.values())
        for customer in rng.sample(customers, min(len(customers), max(1, n_new // 3))):
            customer.billing = random_address(rng)  # moved house
            customer.modified = from_ts(when())
            changed["customers"].add(customer.id)
        product = rng.choice(self._product_list)
        product.price = (product.price * Decimal("1.05")).quantize(CENT)
        product.modified = from_ts(when())
        changed["products"].add(product.id)
        candidates = [i for i in live if ids[i] not in changed["orders"]]
        if len(candidates) >= 2:
            trash, gone = rng.sample(candidates, 2)
            trashed[trash] = 1
            self._o_modified[trash] = when()
            changed["orders"].add(ids[trash])
            del self.orders[ids[gone]]  # force-deleted: it simply vanishes
            self.deleted_orders.add(ids[gone])
            changed["orders_deleted"].add(ids[gone])
        self.version += 1
        return changed


    # -- writes through the API (sandbox/woocommerce/writes.py; journalled by world.write) ----
    def update_order(self, order_id: int, changes: dict) -> int:
        from sandbox.woocommerce import writes

        return writes.update_order(self, order_id, changes)

    def add_order_note(self, order_id: int, note, customer_note=False, added_by_user=False) -> dict:
        from sandbox.woocommerce import writes

        return writes.add_order_note(self, order_id, note, customer_note, added_by_user)

    def update_product(self, product_id: int, changes: dict) -> int:
        from sandbox.woocommerce import writes

        return writes.update_product(self, product_id, changes)

    def batch_products(self, batch: dict) -> dict[str, list]:
        from sandbox.woocommerce import writes

        return writes.batch_products(self, batch)

    # -- ground truth ----------------------------------------------------------------
    def order_notes(self, order_id: int) -> list[dict]:
        """The notes written on an order through the API (id, note, customer_note, added_by_user, created)."""
        return list(self.notes.get(order_id, ()))


def _weighted(rng: random.Random, choices) -> str:
    total = _TOTALS.get(choices)
    if total is None:
        total = _TOTALS[choices] = sum(w for _, w in choices)
    roll = rng.uniform(0, total)
    for value, weight in choices:
        roll -= weight
        if roll <= 0:
            return value
    return choices[-1][0]


_TOTALS: dict[tuple, int] = {}


def line_amounts(order: WooOrder, line: WooLine) -> dict[str, Decimal]:
    subtotal = line.subtotal()
    total = subtotal if order.coupon is None else (subtotal * (1 - COUPON_RATE)).quantize(CENT)
    rate = GST if line.gst else Decimal(0)
    return {
        "subtotal": subtotal,
        "subtotal_tax": (subtotal * rate).quantize(CENT),
        "total": total,
        "total_tax": (total * rate).quantize(CENT),
    }


def shipping_for(lines: list[WooLine]) -> Decimal:
    """The delivery fee (GST-exclusive) of an order with these lines: `order_totals(order)["shipping"]`."""
    subtotal = sum((line.subtotal() for line in lines), Decimal(0))
    return Decimal(0) if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE


def order_totals(order: WooOrder) -> dict[str, Decimal]:
    """WooCommerce's arithmetic: total = line totals + shipping + all tax; discount shown apart."""
    return totals_of([line_amounts(order, line) for line in order.lines])


def totals_of(amounts: list[dict[str, Decimal]]) -> dict[str, Decimal]:
    """`order_totals` from the order's `line_amounts`, in line order."""
    items = sum((a["total"] for a in amounts), Decimal(0))
    subtotal = sum((a["subtotal"] for a in amounts), Decimal(0))
    cart_tax = sum((a["total_tax"] for a in amounts), Decimal(0))
    shipping = Decimal(0) if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
    shipping_tax = (shipping * GST).quantize(CENT)
    return {
        "items": items,
        "discount": subtotal - items,
        "discount_tax": sum((a["subtotal_tax"] - a["total_tax"] for a in amounts), Decimal(0)),
        "shipping": shipping,
        "shipping_tax": shipping_tax,
        "cart_tax": cart_tax,
        "total_tax": cart_tax + shipping_tax,
        "total": items + shipping + cart_tax + shipping_tax,
    }

