"""The grocer's Finale Inventory account: facilities, products, suppliers and customers, purchase and
sales orders, shipments, and stock by facility and lot.

Finale counts stock in its own units ("kg", "ea", "bunch"): a shop sale of "Dutch Cream Potatoes 2kg"
takes 2 kg out of Finale. Stock lives in lots (one per receipt). Shop stock goes down with the shops'
Lightspeed sales and up with supplier deliveries; the warehouse also ships wholesale orders.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.catalog import CATALOG, CatalogItem

ACCOUNT = "redhillfresh"
API_PATH = f"/{ACCOUNT}/api"  # how Finale writes its resource URLs (no host, no sandbox prefix)
CENT = Decimal("0.01")

# (facilityId, name, facilityTypeId, the Lightspeed outlet it is): names differ from Lightspeed on purpose
FACILITIES = (
    ("100000", "Main Warehouse", "WAREHOUSE", None),
    ("100001", "RH Shop", "STORE", "Red Hill"),
    ("100002", "MORN Shop", "STORE", "Mornington"),
)
SUPPLIERS = (
    ("Peninsula Orchards Pty Ltd", ("Fruit",)),
    ("Mornington Growers Co-op", ("Vegetables", "Herbs")),
    ("Gippsland Dairy Supply", ("Dairy",)),
    ("Baker's Lane Sourdough", ("Bakery",)),
    ("Victorian Pantry Wholesale", ("Pantry", "Boxes")),
)
WHOLESALE_CUSTOMERS = ("Red Hill Bistro", "Flinders Cafe", "Dromana Deli", "Arthurs Seat Kiosk")
UOM = {"kg": "kg", "g": "ea", "each": "ea", "bunch": "bunch"}
CASE = {"kg": 10, "ea": 12, "bunch": 10}
_SIZE = re.compile(r"\s(\d+(?:\.\d+)?)(kg|g|L|pk)$")


_DECIMALS: dict[tuple[int, int, tuple], Decimal] = {}


def _shared(value: Decimal) -> Decimal:
    """One Decimal object per distinct value (and exponent): wholesale lines repeat a few hundred of them."""
    sign, digits, exponent = value.as_tuple()
    return _DECIMALS.setdefault((sign, exponent, digits), value)


def finale_uom(item: CatalogItem) -> str:
    return UOM[item.unit]


def sale_factor(item: CatalogItem) -> Decimal:
    """Finale units in one unit sold by the shops or the web store (2 kg for a 2 kg bag of potatoes)."""
    return item.unit_size if item.unit == "kg" else Decimal(1)


def description(item: CatalogItem) -> str:
    """Finale's own product description: supplier style, upper case, noun first."""
    m = _SIZE.search(item.name)
    base, size = (item.name[: m.start()], (m.group(1) + m.group(2)).upper()) if m else (item.name, "")
    words = base.split()
    text = f"{words[-1]}, {' '.join(words[:-1])}" if len(words) > 1 else base
    return (f"{text} {size}" if size else text).upper()


@dataclass(slots=True)
class FinFacility:
    id: str
    name: str
    type_id: str
    outlet: str | None
    created: datetime
    updated: datetime


@dataclass(slots=True)
class FinProduct:
    internal_id: int  # the id in productUrl: not the productId (SKU)
    item: CatalogItem
    description: str
    uom: str
    case_qty: int
    price: Decimal  # list price per Finale unit, GST-exclusive
    cost: Decimal
    supplier_id: str
    reorder: dict[str, tuple[int, int]]  # facilityId -> (reorder point, reorder quantity)
    created: datetime
    updated: datetime
    status: str = "PRODUCT_ACTIVE"

    @property
    def sku(self) -> str:
        return self.item.sku


@dataclass(slots=True)
class FinParty:
    id: str
    name: str
    role: str  # SUPPLIER | CUSTOMER
    email: str
    phone: str
    created: datetime
    updated: datetime


@dataclass(slots=True)
class FinOrderItem:
    sku: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(slots=True)
class FinOrder:
    id: str
    type_id: str  # PURCHASE_ORDER | SALES_ORDER
    status: str  # ORDER_CREATED | ORDER_LOCKED (committed) | ORDER_COMPLETED | ORDER_CANCELLED
    party_id: str
    facility_id: str  # destination of a purchase, origin of a sale
    order_date: datetime
    due_date: datetime
    items: list[FinOrderItem]
    created: datetime
    updated: datetime
    shipment_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FinShipment:
    id: str
    type_id: str  # PURCHASE_SHIPMENT | SALES_SHIPMENT
    status: str  # SHIPMENT_RECEIVED | SHIPMENT_SHIPPED
    order_id: str
    facility_id: str
    items: list[tuple[str, Decimal, str]]  # (sku, quantity, lotId)
    date: datetime
    created: datetime
    updated: datetime


@dataclass(slots=True)
class FinStock:
    quantity: Decimal
    updated: datetime


class FinaleStore:
    """State of the Finale account; `advance` changes it the way a small produce business does."""

    def __init__(self, world, rng: random.Random, scale: int, history_days: int = 60):
        self.world = world
        self.rng = rng
        self.history_days = history_days
        self.version = 0  # bumps on every advance; the API caches its sorted indexes per version
        self.facilities: dict[str, FinFacility] = {}
        self.products: dict[str, FinProduct] = {}  # by productId (SKU)
        self.parties: dict[str, FinParty] = {}
        self.orders: dict[str, FinOrder] = {}
        self.shipments: dict[str, FinShipment] = {}
        self.stock: dict[tuple[str, str, str], FinStock] = {}  # (sku, facilityId, lotId) -> on hand
        self._next_order = 10000
        self.api_orders: list[str] = []  # orderIds created through the API (sandbox/finale/writes.py), in order
        self._next_shipment = 50000
        # bad_data fault targets (rendered wrong only while the fault is on)
        self.bad_data: dict[str, set] = {"partygroups_missing_email": set(), "inventoryitems_negative": set()}
        now = world.clock.now()
        start = now - timedelta(days=history_days)
        founded = now - timedelta(days=730)
        for fid, name, type_id, outlet in FACILITIES:
            self.facilities[fid] = FinFacility(fid, name, type_id, outlet, founded, founded)
        self._seed_parties(founded, start)
        self._seed_products(now - timedelta(days=400), start, now)
        self._seed_purchases(start, now)
        self._seed_wholesale(start, now, n=max(6, scale // 25))
        self._reorder(now - timedelta(hours=2), fallback=False)  # the buyer is up to date
        self._pick_bad_data()
        lightspeed = getattr(world, "lightspeed", None)
        self._ls_seen = max(lightspeed.sales, default=0) if lightspeed else 0

    # -- seeding -----------------------------------------------------------------
    def _seed_parties(self, founded: datetime, start: datetime) -> None:
        rng = self.rng
        for n, (name, _) in enumerate(SUPPLIERS):
            pid = str(200000 + n)
            slug = re.sub(r"[^a-z]+", "", name.lower())[:14]
            updated = founded if rng.random() < 0.5 else start + timedelta(seconds=rng.randrange(50 * 86400))
            self.parties[pid] = FinParty(pid, name, "SUPPLIER", f"orders@{slug}.com.au",
                                         f"03 59{rng.randrange(10, 99)} {rng.randrange(1000, 9999)}", founded, updated)
        for n, name in enumerate(WHOLESALE_CUSTOMERS):
            pid = str(200100 + n)
            slug = re.sub(r"[^a-z]+", "", name.lower())[:14]
            self.parties[pid] = FinParty(pid, name, "CUSTOMER", f"accounts@{slug}.com.au",
                                         f"03 59{rng.randrange(10, 99)} {rng.randrange(1000, 9999)}", founded, founded)

    def supplier_for(self, item: CatalogItem) -> str:
        for n, (_, categories) in enumerate(SUPPLIERS):
            if item.category in categories:
                return str(200000 + n)
        return "200000"

    def _seed_products(self, created: datetime, start: datetime, now: datetime) -> None:
        rng = self.rng
        for n, item in enumerate(CATALOG):
            uom = finale_uom(item)
            per_unit = item.price / sale_factor(item)  # price per Finale unit
            reorder = {}
            for fid in self.facilities:
                point = rng.randrange(20, 60) if fid == "100000" else rng.randrange(8, 25)
                reorder[fid] = (point, CASE[uom] * (4 if fid == "100000" else 2))
            updated = created if rng.random() < 0.5 else start + timedelta(seconds=rng.randrange(55 * 86400))
            self.products[item.sku] = FinProduct(
                internal_id=10_000 + 7 * n + rng.randrange(7), item=item, description=description(item), uom=uom,
                case_qty=CASE[uom] * (2 if item.unit == "kg" and item.unit_size > 1 else 1),
                price=per_unit.quantize(CENT), cost=(per_unit * Decimal("0.55")).quantize(CENT),
                supplier_id=self.supplier_for(item), reorder=reorder, created=created, updated=min(updated, now),
            )

    def _new_order_id(self) -> str:
        self._next_order += self.rng.randint(1, 3)
        while str(self._next_order) in self.orders:  # an id a client gave an order through the API
            self._next_order += 1
        return str(self._next_order)

    def _new_shipment_id(self) -> str:
        self._next_shipment += 1
        return str(self._next_shipment)

    def _purchase(self, supplier_id: str, facility_id: str, when: datetime, skus: list[str], status: str) -> FinOrder:
        rng = self.rng
        items = [FinOrderItem(sku, Decimal(self.products[sku].case_qty * rng.randint(1, 4)), self.products[sku].cost)
                 for sku in skus]
        order = FinOrder(self._new_order_id(), "PURCHASE_ORDER", status, supplier_id, facility_id, when,
                         when + timedelta(hours=rng.randint(12, 60)), items, when, when)
        self.orders[order.id] = order
        return order

    def _receive(self, order: FinOrder, when: datetime) -> FinShipment:
        shipment_id = self._new_shipment_id()
        lot = f"L{when:%y%m%d}-{shipment_id}"
        items = [(i.sku, i.quantity, lot) for i in order.items]
        shipment = FinShipment(shipment_id, "PURCHASE_SHIPMENT", "SHIPMENT_RECEIVED", order.id, order.facility_id,
                               items, when, when, when)
        self.shipments[shipment_id] = shipment
        order.shipment_ids.append(shipment_id)
        order.status = "ORDER_COMPLETED"
        order.updated = when
        for sku, qty, lot_id in items:
            self.stock[(sku, order.facility_id, lot_id)] = FinStock(qty, when)
        return shipment

    def _seed_purchases(self, start: datetime, now: datetime) -> None:
        rng = self.rng
        by_supplier: dict[str, list[str]] = {}
        for sku, p in self.products.items():
            by_supplier.setdefault(p.supplier_id, []).append(sku)
        plans = []
        for fid in self.facilities:
            for supplier_id, skus in by_supplier.items():
                day = start + timedelta(days=rng.random() * 7)
                while day < now - timedelta(hours=6):
                    plans.append((day.replace(microsecond=0), supplier_id, fid, skus))
                    day += timedelta(days=7, hours=rng.randrange(-12, 12))
        plans.sort(key=lambda p: (p[0], p[2], p[1]))
        for when, supplier_id, fid, skus in plans:
            order = self._purchase(supplier_id, fid, when, list(skus), "ORDER_LOCKED")
            receipt = order.due_date + timedelta(hours=rng.randrange(0, 8))
            if receipt < now - timedelta(hours=1):
                self._receive(order, receipt)
        # what is left of each lot today: the newest lot mostly there, the one before nearly gone
        lots: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for key in self.stock:
            lots.setdefault((key[0], key[1]), []).append(key)
        for keys in lots.values():
            keys.sort(key=lambda k: self.stock[k].updated)
            for n, key in enumerate(reversed(keys)):
                entry = self.stock[key]
                share = Decimal(rng.randrange(30, 101)) / 100 if n == 0 else (
                    Decimal(rng.randrange(0, 41)) / 100 if n == 1 else Decimal(0))
                entry.quantity = (entry.quantity * share).quantize(Decimal(1))
                if entry.quantity == 0:
                    del self.stock[key]
        draft_supplier, draft_skus = next(iter(by_supplier.items()))
        self._purchase(draft_supplier, "100000", now - timedelta(hours=3), draft_skus[:2], "ORDER_CREATED")

    def _seed_wholesale(self, start: datetime, now: datetime, n: int) -> None:
        rng = self.rng
        span = int((now - start).total_seconds())
        times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(n))
        for k, when in enumerate(times):
            order = self._sale_order(when)
            if k < n - 2:
                self._ship(order, min(order.due_date, now - timedelta(minutes=5)), take_stock=False)

    def _sale_order(self, when: datetime) -> FinOrder:
        rng = self.rng
        customers = [p.id for p in self.parties.values() if p.role == "CUSTOMER"]
        skus = rng.sample(sorted(self.products), rng.randint(2, 5))
        items = [FinOrderItem(sku, _shared(Decimal(rng.randint(2, 12))),
                              _shared((self.products[sku].price * Decimal("0.85")).quantize(CENT)))
                 for sku in skus]
        order = FinOrder(self._new_order_id(), "SALES_ORDER", "ORDER_LOCKED", rng.choice(customers), "100000",
                         when, when + timedelta(days=1), items, when, when)
        self.orders[order.id] = order
        return order

    def _ship(self, order: FinOrder, when: datetime, take_stock: bool = True) -> FinShipment:
        shipment_id = self._new_shipment_id()
        items = []
        for item in order.items:
            lot = self._take(item.sku, order.facility_id, item.quantity, when) if take_stock else ""
            items.append((item.sku, item.quantity, lot))
        shipment = FinShipment(shipment_id, "SALES_SHIPMENT", "SHIPMENT_SHIPPED", order.id, order.facility_id,
                               items, when, when, when)
        self.shipments[shipment_id] = shipment
        order.shipment_ids.append(shipment_id)
        order.status = "ORDER_COMPLETED"
        order.updated = when
        return shipment

    def _take(self, sku: str, facility_id: str, quantity: Decimal, when: datetime) -> str:
        """Take stock out, oldest lot first; a shortfall drives the newest lot negative, as Finale allows."""
        keys = sorted((k for k in self.stock if k[0] == sku and k[1] == facility_id), key=lambda k: k[2])
        first_lot = keys[0][2] if keys else ""
        left = quantity
        for key in keys:
            entry = self.stock[key]
            used = min(entry.quantity, left) if entry.quantity > 0 else Decimal(0)
            entry.quantity -= used
            entry.updated = when
            left -= used
            if left <= 0:
                break
        if left > 0:
            key = keys[-1] if keys else (sku, facility_id, "")
            entry = self.stock.setdefault(key, FinStock(Decimal(0), when))
            entry.quantity -= left
            entry.updated = when
        for key in keys:
            if self.stock[key].quantity == 0:
                del self.stock[key]
        return first_lot

    def _pick_bad_data(self) -> None:
        rng = self.rng
        suppliers = sorted(p.id for p in self.parties.values() if p.role == "SUPPLIER")
        self.bad_data["partygroups_missing_email"].update(rng.sample(suppliers, 2))
        keys = sorted(self.stock)
        self.bad_data["inventoryitems_negative"].update(rng.sample(keys, min(3, len(keys))))

    # -- time moves ------------------------------------------------------------------
    def advance(self, t0: datetime, t1: datetime, hours: float) -> dict[str, set[str]]:
        """Apply `hours` of stock movements between t0 and t1; return what changed.

        Keys are Finale's collection names; ids are productId, orderId, shipmentId, partyId,
        facilityId, and for inventoryitem (productId, facilityId, lotId)."""
        rng = self.rng
        span = max(1, int((t1 - t0).total_seconds()))

        def when() -> datetime:
            return t0 + timedelta(seconds=rng.randint(1, span))

        def chance() -> bool:  # about once every six hours (always, for steps of six hours or more)
            return rng.random() < hours / 6

        before = {k: v.quantity for k, v in self.stock.items()}
        changed: dict[str, set] = {"product": set(), "order": set(), "shipment": set(), "partygroup": set(),
                                   "facility": set(), "inventoryitem": set()}
        self._sell_through_shops(t0, t1)
        committed = sorted((o for o in self.orders.values()
                            if o.type_id == "PURCHASE_ORDER" and o.status == "ORDER_LOCKED"), key=lambda o: o.id)
        due = [o for o in committed if o.due_date <= t1]
        if not due and chance():  # nothing due: one arrives early
            due = committed[:1]
        for order in due:  # deliveries arrive
            shipment = self._receive(order, max(when(), min(t1, order.due_date)))
            changed["order"].add(order.id)
            changed["shipment"].add(shipment.id)
        open_sales = [o for o in self.orders.values() if o.type_id == "SALES_ORDER" and o.status == "ORDER_LOCKED"]
        if open_sales and chance():  # the oldest wholesale order goes out
            order = min(open_sales, key=lambda o: o.id)
            shipment = self._ship(order, when())
            changed["order"].add(order.id)
            changed["shipment"].add(shipment.id)
        if chance():  # a restaurant orders wholesale
            order = self._sale_order(when())
            changed["order"].add(order.id)
        for order in self._reorder(when(), fallback=chance()):
            changed["order"].add(order.id)
        updates = 2 if hours >= 6 else int(rng.random() < hours / 3)
        for product in rng.sample(sorted(self.products.values(), key=lambda p: p.sku), updates):
            if rng.random() < 0.5:
                product.cost = (product.cost * Decimal("1.04")).quantize(CENT)
            else:
                product.price = (product.price * Decimal("1.05")).quantize(CENT)
            product.updated = when()
            changed["product"].add(product.sku)
        for key in set(before) | set(self.stock):
            if before.get(key) != (self.stock[key].quantity if key in self.stock else None):
                changed["inventoryitem"].add(key)
        self.version += 1
        return changed

    def _sell_through_shops(self, t0: datetime, t1: datetime) -> None:
        """The shops' Lightspeed sales since the last advance take stock out of the shop facilities."""
        lightspeed = getattr(self.world, "lightspeed", None)
        if lightspeed is None:
            return
        by_outlet = {f.outlet: f.id for f in self.facilities.values() if f.outlet}
        newest = self._ls_seen
        for sale in reversed(lightspeed.sales.values()):
            if sale.id <= self._ls_seen:
                break
            newest = max(newest, sale.id)
            if sale.status != "CLOSED":
                continue
            fid = by_outlet.get(lightspeed.outlets[sale.outlet_id].name)
            for line in sale.lines:
                product = lightspeed.products[line.product_id]
                qty = Decimal(line.quantity) * sale_factor(product.item)
                if qty > 0:
                    self._take(product.item.sku, fid, qty, max(t0, min(t1, sale.sale_date)))
                else:
                    key = (product.item.sku, fid, "RETURNS")
                    entry = self.stock.setdefault(key, FinStock(Decimal(0), sale.sale_date))
                    entry.quantity -= qty
                    entry.updated = max(t0, min(t1, sale.sale_date))
        self._ls_seen = newest

    def _reorder(self, when: datetime, fallback: bool) -> list[FinOrder]:
        """New purchase orders for whatever fell under its reorder point; with `fallback`, at least one."""
        on_hand = self.stock_on_hand_by_id()
        on_order: dict[tuple[str, str], Decimal] = {}
        for o in self.orders.values():
            if o.type_id == "PURCHASE_ORDER" and o.status == "ORDER_LOCKED":
                for i in o.items:
                    on_order[(i.sku, o.facility_id)] = on_order.get((i.sku, o.facility_id), 0) + i.quantity
        wanted: dict[tuple[str, str], list[str]] = {}
        for sku, product in sorted(self.products.items()):
            for fid, (point, _) in product.reorder.items():
                if on_hand.get((sku, fid), 0) + on_order.get((sku, fid), 0) < point:
                    wanted.setdefault((product.supplier_id, fid), []).append(sku)
        if not wanted and fallback:
            sku = self.rng.choice(sorted(self.products))
            wanted[(self.products[sku].supplier_id, self.rng.choice(sorted(self.facilities)))] = [sku]
        return [self._purchase(supplier, fid, when, skus, "ORDER_LOCKED")
                for (supplier, fid), skus in sorted(wanted.items())]

    # -- writes through the API (sandbox/finale/writes.py; journalled by world.write) -------
    def create_order(self, order: dict) -> str:
        from sandbox.finale import writes

        return writes.create_order(self, order)

    # -- ground truth (never served) -----------------------------------------------------
    def sales_order(self, order_id: str) -> FinOrder | None:
        """An order by orderId (those created through the API included)."""
        return self.orders.get(str(order_id))

    def orders_created_through_api(self) -> list[FinOrder]:
        return [self.orders[oid] for oid in self.api_orders]

    def stock_on_hand_by_id(self) -> dict[tuple[str, str], Decimal]:
        """(productId, facilityId) -> quantity on hand in Finale units, summed over lots."""
        out: dict[tuple[str, str], Decimal] = {}
        for (sku, fid, _), entry in self.stock.items():
            out[(sku, fid)] = out.get((sku, fid), Decimal(0)) + entry.quantity
        return out

    def stock_on_hand(self) -> dict[tuple[str, str], Decimal]:
        """(SKU, facility name) -> true quantity on hand (Finale units), every SKU x facility (0 included).

        On-order and reserved quantities are not stock: they are separate inventoryitem rows."""
        by_id = self.stock_on_hand_by_id()
        return {(sku, f.name): by_id.get((sku, f.id), Decimal(0))
                for sku in sorted(self.products) for f in self.facilities.values()}

    def outlet_facility_map(self) -> list[dict]:
        """The true mapping between Lightspeed outlets and Finale facilities (for the dbt mapping seed)."""
        lightspeed = getattr(self.world, "lightspeed", None)
        outlet_ids = lightspeed.outlet_ids() if lightspeed else {}
        return [{"lightspeed_outlet_name": f.outlet, "lightspeed_outlet_id": outlet_ids.get(f.outlet),
                 "finale_facility_id": f.id, "finale_facility_url": f"{API_PATH}/facility/{f.id}",
                 "finale_facility_name": f.name} for f in self.facilities.values() if f.outlet]

    def unit_conversions(self) -> dict[str, tuple[str, Decimal]]:
        """SKU -> (Finale unit, Finale units per unit sold in the shops and online)."""
        return {sku: (p.uom, sale_factor(p.item)) for sku, p in self.products.items()}
