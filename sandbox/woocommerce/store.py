"""The grocer's WooCommerce store inside the world: customers, products and web orders.

Records are kept compact and rendered to WooCommerce JSON only when asked for, so a
large world stays small in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.catalog import CATALOG, CatalogItem
from sandbox.people import Address, Person, email_variant, name_variant, phone_variant, random_address

CENT = Decimal("0.01")
GST = Decimal("0.10")
SHIPPING_FEE = Decimal("9.09")  # GST-exclusive delivery fee
FREE_SHIPPING_FROM = Decimal("80.00")
COUPON_RATE = Decimal("0.10")

# (status, weight) of orders older than a few days
SETTLED_STATUSES = (("completed", 82), ("cancelled", 5), ("refunded", 4), ("failed", 2), ("processing", 7))
OPEN_STATUSES = (("processing", 60), ("on-hold", 20), ("pending", 20))


@dataclass
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


@dataclass
class WooProduct:
    id: int
    item: CatalogItem
    price: Decimal
    stock: int
    created: datetime
    modified: datetime
    total_sales: int = 0


@dataclass
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


@dataclass
class WooOrder:
    id: int
    person_id: int
    customer_id: int  # 0 for a guest checkout
    email: str
    first_name: str
    last_name: str
    phone: str
    billing: Address
    shipping: Address
    lines: list[WooLine]
    coupon: str | None
    status: str
    created: datetime
    modified: datetime
    paid: datetime | None = None
    completed: datetime | None = None
    refunds: list[tuple[int, Decimal, str]] = field(default_factory=list)  # (id, amount, reason)
    trashed: bool = False


class WooStore:
    """State of the WooCommerce store; `advance` changes it the way a real shop changes."""

    def __init__(self, world, rng: random.Random, n_orders: int, history_days: int = 60):
        self.world = world
        self.rng = rng
        self._next_id = 1000
        self.customers: dict[int, WooCustomer] = {}
        self.products: dict[int, WooProduct] = {}
        self.orders: dict[int, WooOrder] = {}
        self.deleted_orders: set[int] = set()
        self.version = 0  # bumps on every change; the API caches its indexes per version
        start = world.clock.now() - timedelta(days=history_days)
        self._seed_products(start)
        for person in world.people:
            if rng.random() < 0.7:
                created = start + timedelta(seconds=rng.randrange(history_days * 86400 // 2))
                self._add_customer(person, created)
        span = history_days * 86400
        created_times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(n_orders))
        for created in created_times:
            self._add_order(created, settle_before=world.clock.now())

    # -- ids ---------------------------------------------------------------
    def _new_id(self) -> int:
        # WordPress post ids are shared across post types: increasing, with gaps.
        self._next_id += self.rng.randrange(1, 4)
        return self._next_id

    # -- creation ----------------------------------------------------------
    def _seed_products(self, start: datetime) -> None:
        for item in CATALOG:
            pid = self._new_id()
            self.products[pid] = WooProduct(pid, item, item.price, self.rng.randrange(20, 400), start, start)

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
        return customer

    def _customer_for(self, person: Person) -> WooCustomer | None:
        for c in self._customers_by_person().get(person.person_id, []):
            return c
        return None

    def _customers_by_person(self) -> dict[int, list[WooCustomer]]:
        if getattr(self, "_by_person_version", None) != len(self.customers):
            index: dict[int, list[WooCustomer]] = {}
            for c in self.customers.values():
                index.setdefault(c.person_id, []).append(c)
            self._by_person, self._by_person_version = index, len(self.customers)
        return self._by_person

    def _add_order(self, created: datetime, settle_before: datetime) -> WooOrder:
        rng = self.rng
        person = rng.choice(self.world.people)
        customer = self._customer_for(person)
        guest = customer is None or rng.random() < 0.1
        products = list(self.products.values())
        lines = []
        for product in rng.sample(products, rng.randint(1, 5)):
            lines.append(WooLine(self._new_line_id(), product.id, product.item.sku, product.item.name,
                                 rng.randint(1, 4), product.price, product.item.gst))
            product.total_sales += lines[-1].quantity
        age = settle_before - created
        if age > timedelta(days=3):
            status = _weighted(rng, SETTLED_STATUSES)
        else:
            status = _weighted(rng, OPEN_STATUSES)
        modified = min(created + timedelta(seconds=rng.randrange(1, 72 * 3600)), settle_before)
        if status in ("processing", "on-hold", "pending"):
            modified = created
        order = WooOrder(
            id=self._new_id(),
            person_id=person.person_id,
            customer_id=0 if guest else customer.id,
            email=email_variant(rng, person.email),
            first_name=name_variant(rng, person.first_name),
            last_name=person.last_name,
            phone=phone_variant(rng, person.mobile),
            billing=person.address,
            shipping=person.address,
            lines=lines,
            coupon="FRESH10" if rng.random() < 0.1 else None,
            status=status,
            created=created,
            modified=modified,
        )
        if status in ("processing", "completed", "refunded"):
            order.paid = created + timedelta(seconds=rng.randrange(5, 120))
        if status in ("completed", "refunded"):
            order.completed = modified
        if status == "refunded":
            order.refunds.append((self._new_id(), order_totals(order)["total"], "Produce arrived damaged"))
        self.orders[order.id] = order
        return order

    def _new_line_id(self) -> int:
        self._line_id = getattr(self, "_line_id", 0) + 1
        return self._line_id

    # -- time moves ----------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[int]]:
        """Apply `hours` of shop activity between t0 and t1; return the ids that changed."""
        rng = self.rng
        span = max(1, int((t1 - t0).total_seconds()))

        def when() -> datetime:
            return t0 + timedelta(seconds=rng.randint(1, span))

        changed: dict[str, set[int]] = {"orders": set(), "customers": set(), "products": set(),
                                        "orders_deleted": set()}
        rate = max(1.0, len(self.orders) / (60 * 24))
        n_new = max(2, round(rate * hours))
        for _ in range(max(1, n_new // 4)):  # new people sign up
            person = self.world.add_person()
            c = self._add_customer(person, when())
            changed["customers"].add(c.id)
        for _ in range(n_new):
            created = when()
            order = self._add_order(created, settle_before=created)
            changed["orders"].add(order.id)
        live = [o for o in self.orders.values() if not o.trashed and o.id not in changed["orders"]]
        open_orders = [o for o in live if o.status in ("processing", "on-hold", "pending")]
        for order in rng.sample(open_orders, min(len(open_orders), max(1, n_new // 2))):
            order.status = "completed"
            order.modified = when()
            order.paid = order.paid or order.modified
            order.completed = order.modified
            changed["orders"].add(order.id)
        completed = [o for o in live if o.status == "completed" and o.id not in changed["orders"]]
        if completed:
            order = rng.choice(completed)
            order.status = "refunded"
            order.modified = when()
            order.refunds.append((self._new_id(), order_totals(order)["total"], "Customer request"))
            changed["orders"].add(order.id)
        customers = list(self.customers.values())
        for customer in rng.sample(customers, min(len(customers), max(1, n_new // 3))):
            customer.billing = random_address(rng)  # moved house
            customer.modified = when()
            changed["customers"].add(customer.id)
        product = rng.choice(list(self.products.values()))
        product.price = (product.price * Decimal("1.05")).quantize(CENT)
        product.modified = when()
        changed["products"].add(product.id)
        candidates = [o for o in live if o.id not in changed["orders"]]
        if len(candidates) >= 2:
            trash, gone = rng.sample(candidates, 2)
            trash.trashed = True
            trash.modified = when()
            changed["orders"].add(trash.id)
            del self.orders[gone.id]  # force-deleted: it simply vanishes
            self.deleted_orders.add(gone.id)
            changed["orders_deleted"].add(gone.id)
        self.version += 1
        return changed


def _weighted(rng: random.Random, choices) -> str:
    total = sum(w for _, w in choices)
    roll = rng.uniform(0, total)
    for value, weight in choices:
        roll -= weight
        if roll <= 0:
            return value
    return choices[-1][0]


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


def order_totals(order: WooOrder) -> dict[str, Decimal]:
    """WooCommerce's arithmetic: total = line totals + shipping + all tax; discount shown apart."""
    amounts = [line_amounts(order, line) for line in order.lines]
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

